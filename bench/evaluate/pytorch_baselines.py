"""PyTorch baselines of the evaluation benchmark, on the model the trainer trained and the same test split.

    python bench/evaluate/pytorch_baselines.py DATA_DIR TRAIN_OUT_DIR MODEL MAX_LENGTH SEED DROPOUT THREADS

Rebuilds the classifier from the training job's checkpoint (best weights) with the trainer's own code, then times:
- single: the original pipeline's approach, one review per forward pass (tokenized alone, so no padding at all:
  a kinder baseline than padding every review to the max length), with THREADS or 1 thread, whichever a probe on
  the first reviews finds faster (one-review passes are small: thread hand-offs can cost more than they give);
- batched: the trainer's predict_logits (length-sorted batches of 64, dynamic padding).
Both include tokenizing; neither includes loading. Prints JSON with seconds, reviews/s and the predictions.
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
    torch.set_num_threads(int(threads))
    torch.set_num_interop_threads(1)
    state = torch.load(
        io.BytesIO(storage.read_bytes(storage.join(train_out, "checkpoints", FILE))), map_location="cpu", weights_only=True
    )
    weights = state["best_state"] if state.get("best_state") is not None else state["model"]
    source = models.resolve(model_name, int(max_length), [], state.get("tokenizer") if model_name == models.TINY else None)
    test = data.read_split(data_dir, "test")
    n_features = len(test[0].features)
    model = source.new_classifier(int(seed), n_features, float(dropout))
    model.load_state_dict(weights)
    model.eval()
    cpu = torch.device("cpu")

    def one(review: data.Review) -> int:
        ids = torch.tensor([source.tokenizer.encode(review.text).ids], dtype=torch.long)
        logits = model(ids, torch.ones_like(ids), torch.tensor([review.features], dtype=torch.float32))
        return int(logits.argmax(dim=-1))

    with torch.inference_mode():
        probe = {}
        for n_threads in sorted({int(threads), 1}, reverse=True):
            torch.set_num_threads(n_threads)
            for r in test[:WARMUP]:
                one(r)
            began = time.perf_counter()
            for r in test[WARMUP : 5 * WARMUP]:
                one(r)
            probe[n_threads] = time.perf_counter() - began
        single_threads = min(probe, key=lambda k: probe[k])
        torch.set_num_threads(single_threads)
        began = time.perf_counter()
        single = [one(r) for r in test]
        single_s = time.perf_counter() - began
        torch.set_num_threads(int(threads))

        train_loop.predict_logits(model, data.encode(source.tokenizer, test[:WARMUP]), source.pad_id, cpu, True, batch_size=64)
        began = time.perf_counter()
        logits = train_loop.predict_logits(model, data.encode(source.tokenizer, test), source.pad_id, cpu, True, batch_size=64)
        batched_s = time.perf_counter() - began
    batched = logits.argmax(dim=-1).tolist()
    n = len(test)
    print(
        json.dumps(
            {
                "rows": n,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "single": {
                    "seconds": single_s,
                    "reviewsPerSecond": n / single_s,
                    "threads": single_threads,
                    "probeSeconds": probe,
                    "predictions": single,
                },
                "batched": {"seconds": batched_s, "reviewsPerSecond": n / batched_s, "predictions": batched},
            }
        )
    )


if __name__ == "__main__":
    main()
