"""The serving benchmark's baseline: the trained model served the way the original pipeline's Flask app meant to,
with Flask and PyTorch, one forward pass per request.

    python bench/serving/flask_baseline.py TRAIN_DIR MODEL MAX_LENGTH SEED DROPOUT THREADS PORT

TRAIN_DIR is a train attempt folder (local path or gs:// through the trainer's storage module) holding
checkpoints/checkpoint.pt and model/metadata.json. The classifier is rebuilt with the trainer's own code from the
checkpoint's best weights. POST /predict takes the same body as the Node endpoint ({"instances": [...]} or
{"texts": [...]}) and prepares each review the same way (HTML tags removed, title + " " + text, side features scaled
with the model's training statistics), so both servers answer the same question. Flask's development server with
threads (its default), as the original app ran; request logging is off and connections are kept alive (HTTP/1.1),
so the baseline pays for neither.
GET /health answers 200 once the model is loaded.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import sys
from pathlib import Path

import torch
from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"))
from sentiment_trainer import models, storage  # noqa: E402
from sentiment_trainer.checkpoints import FILE  # noqa: E402

LABELS = ("NEGATIVE", "NEUTRAL", "POSITIVE")
TAG = re.compile(r"</?[A-Za-z!][^>]*>")
SPACE = re.compile(r"\s+")


def clean(s: str) -> str:
    """gpu-jobs/prepare/clean-text.ts: HTML tags become a space, whitespace collapses, ends trimmed."""
    return SPACE.sub(" ", TAG.sub(" ", s) if "<" in s else s).strip()


def feature_vector(inst: dict, stats: dict) -> list[float]:
    """gpu-jobs/prepare/features.ts: price filled with the training median when missing, log1p votes, two flags."""
    price = inst.get("price")
    missing = price is None
    p = stats["priceFill"] if missing else float(price)
    votes = inst.get("helpful_vote")
    helpful = math.log1p(votes if votes is not None and votes > 0 else 0)
    return [
        (p - stats["priceMean"]) / stats["priceStd"],
        1.0 if missing else 0.0,
        (helpful - stats["helpfulMean"]) / stats["helpfulStd"],
        1.0 if inst.get("verified_purchase") is True else 0.0,
    ]


def main() -> None:
    train_dir, model_name, max_length, seed, dropout, threads, port = sys.argv[1:8]
    torch.set_num_threads(int(threads))
    state = torch.load(
        io.BytesIO(storage.read_bytes(storage.join(train_dir, "checkpoints", FILE))), map_location="cpu", weights_only=True
    )
    weights = state["best_state"] if state.get("best_state") is not None else state["model"]
    source = models.resolve(model_name, int(max_length), [], state.get("tokenizer") if model_name == models.TINY else None)
    metadata = json.loads(storage.read_bytes(storage.join(train_dir, "model", "metadata.json")))
    stats = metadata["features"]
    model = source.new_classifier(int(seed), 4 if stats else 0, float(dropout))
    model.load_state_dict(weights)
    model.eval()

    app = Flask(__name__)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.post("/predict")
    def predict():  # type: ignore[no-untyped-def]
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": "the body must be a JSON object"}), 400
        items = body.get("instances", body.get("texts"))
        if not isinstance(items, list) or not items:
            return jsonify({"error": "instances must be a non-empty list"}), 400
        instances = [{"text": i} if isinstance(i, str) else i for i in items]
        texts = [f"{clean(i.get('title') or '')} {clean(i['text'])}" for i in instances]
        encoded = [source.tokenizer.encode(t).ids for t in texts]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(encoded), width), source.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e)
            mask[row, : len(e)] = 1
        features = torch.tensor([feature_vector(i, stats) for i in instances], dtype=torch.float32) if stats else None
        with torch.inference_mode():
            probs = torch.softmax(model(ids, mask, features), dim=-1).tolist()
        predictions = [
            {"label": LABELS[max(range(3), key=p.__getitem__)], "scores": dict(zip(LABELS, p))} for p in probs
        ]
        return jsonify({"predictions": predictions})

    # Keep-alive, as the Node server has it: the dev server otherwise closes every connection after one answer.
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    app.run(host="127.0.0.1", port=int(port), threaded=True)


if __name__ == "__main__":
    main()
