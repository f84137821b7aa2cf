"""Checks the generator's scenarios against the trainer's real `tiny` model: trains on a prepared folder with the
trainer's own code (data reading, tokenizer, classifier, fit loop, weighted loss) and reports the test split's
weighted F1 overall and per main_category, optionally with the biased slice up-weighted as a mitigation plan would.

    PY=$(bash gpu-jobs/trainer/scripts/ensure-venv.sh)
    PYTHONPATH=gpu-jobs/trainer $PY bench/prepare/scenario_check.py --data DIR [--lr 5e-4 --epochs 5 --batch 32]
        [--slice "Musical Instruments" --weight 5]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

try:
    import jsonschema  # noqa: F401
except ImportError:  # a bare GPU image without it: the prepared files come from the prepare job, so skip re-checking them
    import sys
    import types

    class _NoChecks:
        def __init__(self, *_: object) -> None: ...
        def iter_errors(self, *_: object) -> list[object]:
            return []

    stub, exceptions = types.ModuleType("jsonschema"), types.ModuleType("jsonschema.exceptions")
    stub.Draft202012Validator = _NoChecks  # type: ignore[attr-defined]
    exceptions.ValidationError = Exception  # type: ignore[attr-defined]
    sys.modules.update({"jsonschema": stub, "jsonschema.exceptions": exceptions})

from sentiment_trainer import data, metrics
from sentiment_trainer.models import resolve
from sentiment_trainer.train_loop import FitConfig, fit, predict_logits


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--slice", default="Musical Instruments", help="main_category value to report and up-weight")
    p.add_argument("--weight", type=float, default=1.0, help="loss weight of the slice's training rows")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    stats = data.read_stats(a.data)
    train, validation, test = (data.read_split(a.data, s) for s in data.SPLITS)
    source = resolve("tiny", a.max_length, [r.text for r in train])
    weights = [a.weight if r.slices.get("main_category") == a.slice else 1.0 for r in train]
    enc_train = data.encode(source.tokenizer, train, weights)
    enc_val, enc_test = data.encode(source.tokenizer, validation), data.encode(source.tokenizer, test)
    model = source.new_classifier(a.seed, len(train[0].features), a.dropout)
    w = stats["classWeights"]
    cfg = FitConfig(a.batch, a.epochs, a.lr, a.wd, 0.1, 1.0, 2, a.seed, True, source.pad_id, (w[0], w[1], w[2]))
    began = time.perf_counter()
    result = fit(model, enc_train, enc_val, cfg, device)
    preds = predict_logits(model, enc_test, source.pad_id, device, True).argmax(dim=-1).tolist()
    truth = enc_test.labels.tolist()
    overall = metrics.summary(truth, preds)["weightedF1"]
    slices = {}
    for value in sorted({r.slices.get("main_category", "unknown") for r in test}):
        idx = [i for i, r in enumerate(test) if r.slices.get("main_category") == value]
        f1 = metrics.summary([truth[i] for i in idx], [preds[i] for i in idx])["weightedF1"]
        slices[value] = {"rows": len(idx), "f1": round(f1, 4), "ratio": round(f1 / overall, 4) if overall else None}
    target = slices.get(a.slice)
    print(json.dumps({
        "data": a.data, "lr": a.lr, "epochs": a.epochs, "batch": a.batch, "weight": a.weight,
        "validationF1": round(result.best["weightedF1"], 4), "bestEpoch": result.best_epoch,
        "testF1": round(overall, 4), "slice": a.slice, "sliceTest": target,
        "worstOther": min(((k, v["f1"]) for k, v in slices.items() if k != a.slice), key=lambda kv: kv[1]),
        "seconds": round(time.perf_counter() - began, 1),
    }))


if __name__ == "__main__":
    main()
