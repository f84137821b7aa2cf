"""The trainer's own PyTorch evaluation of a test split, for the end-to-end test of the evaluate job.

    python test/evaluate/py/pytorch_reference.py DATA_DIR TRAIN_OUT_DIR MAX_LENGTH SEED DROPOUT USE_FEATURES

Run with the embedded-mode environment the trainer ran with (PIPELINE_MODE, LOCAL_ROOT, BUCKET). Rebuilds the `tiny`
classifier from the training job's last checkpoint (its best weights and the tokenizer it learned), tokenizes the
test split with the trainer's own code and predicts with `train_loop.predict_logits`, then prints JSON: the
predictions, the top-two logit margins, and `train_loop.evaluate`'s metrics summary.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "gpu-jobs" / "trainer"))
from sentiment_trainer import data, models, storage, train_loop  # noqa: E402
from sentiment_trainer.checkpoints import FILE  # noqa: E402


def main() -> None:
    data_dir, train_out, max_length, seed, dropout, use_features = sys.argv[1:7]
    use = use_features == "true"
    state = torch.load(
        io.BytesIO(storage.read_bytes(storage.join(train_out, "checkpoints", FILE))), map_location="cpu", weights_only=True
    )
    weights = state["best_state"] if state.get("best_state") is not None else state["model"]
    source = models.tiny_source([], int(max_length), tokenizer_json=state["tokenizer"])
    test = data.read_split(data_dir, "test")
    model = source.new_classifier(int(seed), len(test[0].features) if use else 0, float(dropout))
    model.load_state_dict(weights)
    encoded = data.encode(source.tokenizer, test)
    cpu = torch.device("cpu")
    logits = train_loop.predict_logits(model, encoded, source.pad_id, cpu, use)
    top2 = logits.topk(2, dim=-1).values
    print(
        json.dumps(
            {
                "predictions": logits.argmax(dim=-1).tolist(),
                "margins": (top2[:, 0] - top2[:, 1]).tolist(),
                "summary": train_loop.evaluate(model, encoded, source.pad_id, cpu, use),
            }
        )
    )


if __name__ == "__main__":
    main()
