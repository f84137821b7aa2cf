"""minilm on the real review sample: test-split quality against TF-IDF + logistic regression, and CPU training speed.

1. Prepares `amazon-reviews-2023-sample.jsonl` with the pipeline's own prepare job (`npm run prepare`).
2. Baselines on the same split: TF-IDF (word 1-2 grams) + logistic regression, plain and class-balanced.
3. Runs the train job (`sentiment_trainer train`, minilm, fixed hyperparameters) and scores the exported ONNX model
   (fp32 and int8, tokenized by the exported tokenizer.json, as serving does) on the test split.
4. Speed: the train job's examples/s, against the same model and step fed fixed-length (max length) random-order
   batches, the usual padding, timed in the same invocation.

Prints one JSON line; writes it to .local/bench/trainer/minilm-cpu.json.

    python bench/trainer/minilm_cpu.py [--epochs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "gpu-jobs" / "trainer"))
OUT = REPO / ".local" / "bench" / "trainer"
LABEL_IDS = [0, 1, 2]


def sample_path() -> Path:
    path = Path(os.environ.get("REVIEWS_SAMPLE") or REPO.parent / "shared" / "data" / "amazon-reviews-2023-sample.jsonl")
    if not path.is_file():
        sys.exit(f"review sample not found at {path}: set REVIEWS_SAMPLE")
    return path


def prepare(sample: Path, folder: Path) -> Path:
    if not (folder / "stats.json").is_file():
        env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
        subprocess.run(["npm", "run", "--silent", "prepare", "--", "--input", str(sample), "--out", str(folder)], cwd=REPO, env=env, check=True, stdout=sys.stderr)
    return folder


def rows(folder: Path, split: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]


def scores(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "weightedF1": round(float(f1_score(y_true, y_pred, labels=LABEL_IDS, average="weighted", zero_division=0)), 4),
        "macroF1": round(float(f1_score(y_true, y_pred, labels=LABEL_IDS, average="macro", zero_division=0)), 4),
    }


def baselines(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def text(r: dict[str, Any]) -> str:
        return f"{r['title']} {r['text']}"

    out = {}
    for name, weight in (("tfidf_logreg", None), ("tfidf_logreg_balanced", "balanced")):
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), LogisticRegression(max_iter=2000, class_weight=weight))
        model.fit([text(r) for r in train], [r["labelId"] for r in train])
        out[name] = scores([r["labelId"] for r in test], model.predict([text(r) for r in test]).tolist())
    return out


def train_minilm(data: Path, args: argparse.Namespace) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    from sentiment_trainer.cli import main

    work = OUT / "minilm-run"
    outbox = work / "outbox.jsonl"
    outbox.unlink(missing_ok=True)
    os.environ.update({"PIPELINE_MODE": "embedded", "LOCAL_ROOT": str(work), "BUCKET": "bench", "SP_OUTBOX": str(outbox), "SP_TORCH_THREADS": str(args.threads)})
    for k in ("AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "MLFLOW_TRACKING_URI"):
        os.environ.pop(k, None)
    # A fresh run each time unless --run-name names an earlier one (its finished checkpoint then skips training).
    run_id = args.run_name or f"minilm-bench-{int(time.time())}"
    run_dir = f"gs://bench/runs/{run_id}"
    # The job reads only its own run's prepare folder, so the prepared sample is placed there.
    local_data = work / "bucket" / "runs" / run_id / "prepare" / "a1"
    if not local_data.exists():
        shutil.copytree(data, local_data)
    attempt = 1
    params = {"modelFamily": "bert", "learningRate": args.lr, "batchSize": args.batch, "epochs": args.epochs, "weightDecay": 0.01, "dropout": 0.1}
    job = {
        "runId": run_id, "attempt": attempt, "correlationId": "bench", "runDir": run_dir, "outDir": f"{run_dir}/train/a{attempt}",
        "dataDir": f"{run_dir}/prepare/a1", "models": {"bert": "minilm", "roberta": "minilm"}, "maxLength": 128, "seed": 42,
        "useSideFeatures": True, "earlyStoppingPatience": 2, "warmupRatio": 0.1, "maxGradNorm": 1.0, "params": params, "mitigation": None,
    }
    argv = ["train"] + [x for k, v in job.items() for x in (f"--{''.join('-' + c.lower() if c.isupper() else c for c in k)}", v if isinstance(v, str) else json.dumps(v))]
    began = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - began
    if code != 0:
        sys.exit(f"the train job failed with exit code {code}")
    done = [json.loads(x) for x in outbox.read_text().splitlines() if '"training.completed"' in x][-1]
    folder = work / "bucket" / done["data"]["modelDir"].removeprefix("gs://bench/")
    report = json.loads((work / "bucket" / run_dir.removeprefix("gs://bench/") / "train/a1/training.json").read_text())
    return {**done["data"], "jobSeconds": round(seconds, 1)}, folder, report


def score_onnx(folder: Path, test: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    meta = json.loads((folder / "metadata.json").read_text())
    out = {}
    for name in ("model.onnx", "model.int8.onnx"):
        session = ort.InferenceSession(str(folder / name), providers=["CPUExecutionProvider"])
        preds = []
        for r in test:
            ids = np.array([tok.encode(f"{r['title']} {r['text']}").ids], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "features" in meta["inputs"]:
                feeds["features"] = np.array([r["features"]], dtype=np.float32)
            preds.append(int(session.run(["logits"], feeds)[0].argmax(-1)[0]))
        out[name] = scores([r["labelId"] for r in test], preds)
    return out


def fixed_padding_speed(data: Path, batch: int, batches: int) -> dict[str, float]:
    """The same minilm classifier and step on max-length, random-order batches: what the train job avoids."""
    import random

    import torch

    from sentiment_trainer import data as data_mod
    from sentiment_trainer.batching import Encoded, collate
    from sentiment_trainer.models import resolve
    from sentiment_trainer.step import make_optimizer, make_scheduler, train_step

    reviews = data_mod.read_split(str(data), "train")
    source = resolve("minilm", 128, [])
    enc = data_mod.encode(source.tokenizer, reviews)
    padded = Encoded(ids=[ids + [source.pad_id] * (128 - len(ids)) for ids in enc.ids], features=enc.features, labels=enc.labels, weights=enc.weights)
    masks = [[1] * len(ids) + [0] * (128 - len(ids)) for ids in enc.ids]
    model = source.new_classifier(42, 4, 0.1)
    optimizer = make_optimizer(model, 5e-5, 0.01, torch.device("cpu"))
    scheduler = make_scheduler(optimizer, batches, 0.1)
    order = list(range(len(padded)))
    random.Random(0).shuffle(order)
    model.train()
    began, n = time.perf_counter(), 0
    for b in range(batches):
        index = order[b * batch : (b + 1) * batch]
        x = collate(padded, index, source.pad_id)
        x["attention_mask"] = torch.tensor([masks[i] for i in index])
        train_step(model, x, optimizer, scheduler, torch.ones(3), 1.0, True)
        n += len(index)
    return {"examplesPerSecond": n / (time.perf_counter() - began), "examples": n, "meanTokens": sum(enc.lengths) / len(enc)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed-batches", type=int, default=12)
    parser.add_argument("--run-name", default=None, help="reuse this earlier benchmark run folder (resumes its checkpoint)")
    args = parser.parse_args()
    import torch

    OUT.mkdir(parents=True, exist_ok=True)
    data = prepare(sample_path(), OUT / "amazon")
    train, test = rows(data, "train"), rows(data, "test")
    base = baselines(train, test)
    done, folder, report = train_minilm(data, args)
    onnx_scores = score_onnx(folder, test)
    torch.set_num_threads(args.threads)
    fixed = fixed_padding_speed(data, args.batch, args.speed_batches)
    ours = sum(h["examplesPerSecond"] for h in report["history"]) / len(report["history"])
    result = {
        "bench": "trainer-minilm-cpu",
        "data": {"train": len(train), "validation": len(rows(data, "validation")), "test": len(test)},
        "params": done["params"],
        "threads": args.threads,
        "test": {"minilm_onnx_fp32": onnx_scores["model.onnx"], "minilm_onnx_int8": onnx_scores["model.int8.onnx"], **base},
        "validation": done["validation"],
        "epochsRun": done["epochsRun"],
        "jobSeconds": done["jobSeconds"],
        "speed": {
            "trainJobExamplesPerSecond": round(ours, 2),
            "fixedPaddingExamplesPerSecond": round(fixed["examplesPerSecond"], 2),
            "ratio": round(ours / fixed["examplesPerSecond"], 3),
            "meanTokensPerReview": round(fixed["meanTokens"], 1),
        },
    }
    line = json.dumps(result)
    (OUT / "minilm-cpu.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
