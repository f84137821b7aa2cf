"""PyTorch baselines of the evaluation benchmark, as a worker the benchmark drives chunk by chunk.

    python bench/evaluate/pytorch_baselines.py DATA_DIR TRAIN_OUT_DIR MODEL MAX_LENGTH SEED DROPOUT THREADS

Rebuilds the classifier from the training job's checkpoint (best weights) with the trainer's own code and reads the
test split, prints one JSON line {"ready": ...}, then answers requests, one JSON line each way:
{"mode": "single" | "batched", "start": i, "end": j} -> {"seconds": s, "predictions": [...]} for rows i..j-1.
- single: the original pipeline's approach, one review per forward pass, tokenized alone (no padding at all: kinder
  than padding every review to the max length), with THREADS or 1 thread, whichever a probe at start finds faster
  (one short review per pass gives threads little to share);
- batched: the trainer's predict_logits (length-sorted batches of 64, dynamic padding).
Both include tokenizing; neither includes loading. The benchmark interleaves these with its own runs, so a busy
shared machine slows every approach alike.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"))
from sentiment_trainer import data, models, storage, train_loop  # noqa: E402
from sentiment_trainer.checkpoints import FILE  # noqa: E402

WARMUP = 8


def main() -> None:
    data_dir, train_out, model_name, max_length, seed, dropout, threads = sys.argv[1:8]
    threads_n = int(threads)
    torch.set_num_threads(threads_n)
    torch.set_num_interop_threads(1)
    state = torch.load(
        io.BytesIO(storage.read_bytes(storage.join(train_out, "checkpoints", FILE))), map_location="cpu", weights_only=True
    )
    weights = state["best_state"] if state.get("best_state") is not None else state["model"]
    source = models.resolve(model_name, int(max_length), [], state.get("tokenizer") if model_name == models.TINY else None)
    test = data.read_split(data_dir, "test")
    model = source.new_classifier(int(seed), len(test[0].features), float(dropout))
    model.load_state_dict(weights)
    model.eval()
    cpu = torch.device("cpu")

    def one(review: data.Review) -> int:
        ids = torch.tensor([source.tokenizer.encode(review.text).ids], dtype=torch.long)
        logits = model(ids, torch.ones_like(ids), torch.tensor([review.features], dtype=torch.float32))
        return int(logits.argmax(dim=-1))

    def batched(rows: list[data.Review]) -> list[int]:
        encoded = data.encode(source.tokenizer, rows)
        return train_loop.predict_logits(model, encoded, source.pad_id, cpu, True, batch_size=64).argmax(dim=-1).tolist()

    with torch.inference_mode():
        probe = {}
        for n in sorted({threads_n, 1}, reverse=True):
            torch.set_num_threads(n)
            for r in test[:WARMUP]:
                one(r)
            began = time.perf_counter()
            for r in test[WARMUP : 5 * WARMUP]:
                one(r)
            probe[n] = time.perf_counter() - began
        single_threads = min(probe, key=lambda k: probe[k])
        torch.set_num_threads(threads_n)
        batched(test[: 2 * WARMUP])
        reply({"ready": True, "rows": len(test), "torch": torch.__version__, "threads": threads_n, "singleThreads": single_threads})
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("mode") == "quit":
                break
            rows = test[request["start"] : request["end"]]
            began = time.perf_counter()
            if request["mode"] == "single":
                torch.set_num_threads(single_threads)
                predictions = [one(r) for r in rows]
                torch.set_num_threads(threads_n)
            else:
                predictions = batched(rows)
            reply({"seconds": time.perf_counter() - began, "predictions": predictions})


def reply(value: dict) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
