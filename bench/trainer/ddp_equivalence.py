"""DDP against one process: the trainer's fit on the tiny model, one process vs two gloo ranks, same global batch.

Prints one JSON line: per epoch, the train loss and validation metrics of both, and their largest differences; with
--dropout, the classifier and encoder keep their dropout (the ranks then draw other masks than one process does).

    python bench/trainer/ddp_equivalence.py                 # dropout off: the arithmetic alone
    python bench/trainer/ddp_equivalence.py --dropout 0.1   # dropout on: what a real run sees
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"
sys.path.insert(0, str(TRAINER))
sys.path.insert(0, str(TRAINER / "tests"))

from ddp_fit import fit_tiny, free_port  # noqa: E402  (the trainer's tests folder is on the path only now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=0.0)
    a = vars(parser.parse_args())
    import torch.multiprocessing as mp

    sizes = (a["rows"], a["batch"], a["epochs"], a["dropout"])
    with tempfile.TemporaryDirectory() as folder:
        fit_tiny(0, 1, 0, f"{folder}/one.json", *sizes)
        mp.spawn(fit_tiny, args=(2, free_port(), f"{folder}/two.json", *sizes), nprocs=2, join=True)
        one, two = (json.loads(Path(f"{folder}/{k}.json").read_text()) for k in ("one", "two"))
    keys = ("trainLoss", "accuracy", "weightedF1", "macroF1")
    epochs = [{"epoch": x["epoch"], **{f"{k}_one": x[k] for k in keys}, **{f"{k}_two": y[k] for k in keys}} for x, y in zip(one["history"], two["history"], strict=True)]
    worst = {k: max(abs(x[k] - y[k]) for x, y in zip(one["history"], two["history"], strict=True)) for k in keys}
    print(json.dumps({"bench": "ddp-equivalence", **a, "world": 2, "maxAbsDiff": worst, "secondsOne": one["seconds"], "secondsTwo": two["seconds"], "history": epochs}))


if __name__ == "__main__":
    main()
