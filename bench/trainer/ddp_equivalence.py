"""DDP against one process: the trainer's fit on the tiny model, one process vs two gloo ranks, same global batch.

Prints one JSON line: per epoch, the train loss and validation metrics of both, and their largest differences; with
--dropout, the classifier and encoder keep their dropout (the ranks then draw other masks than one process does).

    python bench/trainer/ddp_equivalence.py                 # dropout off: the arithmetic alone
    python bench/trainer/ddp_equivalence.py --dropout 0.1   # dropout on: what a real run sees
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

TRAINER = Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"
sys.path.insert(0, str(TRAINER))
sys.path.insert(0, str(TRAINER / "tests"))


def fit_one(rank: int, world: int, port: int, out: str, a: dict[str, Any]) -> None:
    import torch.distributed as dist
    from torch import nn
    from synthetic import review

    from sentiment_trainer import data
    from sentiment_trainer.distributed import SINGLE, Group
    from sentiment_trainer.models import tiny_source
    from sentiment_trainer.train_loop import FitConfig, fit

    torch.set_num_threads(1)
    group = SINGLE
    if world > 1:
        os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
        dist.init_process_group("gloo", rank=rank, world_size=world)
        group = Group(rank, world, rank)
    rng = random.Random(3)
    n = a["rows"]
    rows = [review(rng, rng.choice([0, 0, 1, 2, 2, 2]), i) for i in range(n)]
    reviews = [data.Review(f"{r['title']} {r['text']}", r["labelId"], tuple(r["features"]), {}) for r in rows]
    cut = n * 4 // 5
    source = tiny_source([r.text for r in reviews[:cut]], 48)
    train = data.encode(source.tokenizer, reviews[:cut], [1.0 + (i % 3) for i in range(cut)])
    validation = data.encode(source.tokenizer, reviews[cut:])
    model = source.new_classifier(5, 4, a["dropout"])
    if a["dropout"] == 0:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
    cfg = FitConfig(a["batch"], a["epochs"], 1e-3, 0.01, 0.1, 1.0, 0, 7, True, source.pad_id, (1.0, 2.0, 0.8))
    began = time.perf_counter()
    result = fit(model, train, validation, cfg, torch.device("cpu"), group=group)
    if rank == 0:
        Path(out).write_text(json.dumps({"history": result.history, "seconds": time.perf_counter() - began}))
    if world > 1:
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dropout", type=float, default=0.0)
    a = vars(parser.parse_args())
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as folder, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
        s.close()
        fit_one(0, 1, 0, f"{folder}/one.json", a)
        mp.spawn(fit_one, args=(2, port, f"{folder}/two.json", a), nprocs=2, join=True)
        one, two = (json.loads(Path(f"{folder}/{k}.json").read_text()) for k in ("one", "two"))
    keys = ("trainLoss", "accuracy", "weightedF1", "macroF1")
    epochs = [{"epoch": x["epoch"], **{f"{k}_one": x[k] for k in keys}, **{f"{k}_two": y[k] for k in keys}} for x, y in zip(one["history"], two["history"], strict=True)]
    worst = {k: max(abs(x[k] - y[k]) for x, y in zip(one["history"], two["history"], strict=True)) for k in keys}
    print(json.dumps({"bench": "ddp-equivalence", **a, "world": 2, "maxAbsDiff": worst, "secondsOne": one["seconds"], "secondsTwo": two["seconds"], "history": epochs}))


if __name__ == "__main__":
    main()
