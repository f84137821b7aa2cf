"""Exports a model folder from a training job's checkpoint, for the benchmark only, when the trainer's int8 parity
gate refused the export (a lightly trained model has near-tie logits that int8 flips). The fp32 model.onnx, which
the benchmark times, is exported exactly as the trainer exports it; parity is measured and recorded, not enforced.

    python bench/evaluate/export_checkpoint.py DATA_DIR TRAIN_OUT_DIR MODEL MAX_LENGTH SEED DROPOUT PARAMS_JSON

Writes the folder to TRAIN_OUT_DIR/model with the trainer's own export functions.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu-jobs" / "trainer"))
from sentiment_trainer import data, export, metrics, models, storage, train_loop  # noqa: E402
from sentiment_trainer.checkpoints import FILE  # noqa: E402


def main() -> None:
    data_dir, train_out, model_name, max_length, seed, dropout, params = sys.argv[1:8]
    state = torch.load(
        io.BytesIO(storage.read_bytes(storage.join(train_out, "checkpoints", FILE))), map_location="cpu", weights_only=True
    )
    weights = state["best_state"] if state.get("best_state") is not None else state["model"]
    source = models.resolve(model_name, int(max_length), [], state.get("tokenizer") if model_name == models.TINY else None)
    stats = data.read_stats(data_dir)
    validation = data.read_split(data_dir, "validation")[: export.PARITY_EXAMPLES]
    model = source.new_classifier(int(seed), len(validation[0].features), float(dropout))
    model.load_state_dict(weights)
    model.eval()
    encoded = data.encode(source.tokenizer, validation)
    cpu = torch.device("cpu")
    reference = train_loop.predict_logits(model, encoded, source.pad_id, cpu, True).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        source.tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "labels.json").write_text(json.dumps(list(data.LABELS)) + "\n", encoding="utf-8")
        export.export_onnx(model, folder / "model.onnx", True, source.pad_id)
        export.quantize_int8(folder / "model.onnx", folder / "model.int8.onnx")

        def run(name: str) -> np.ndarray:
            session = ort.InferenceSession(str(folder / name), providers=["CPUExecutionProvider"])
            return export.onnx_logits(session, encoded, source.pad_id, True)

        fp32, int8 = run("model.onnx"), run("model.int8.onnx")
        metadata = {
            "formatVersion": 1,
            "runId": "bench-evaluate",
            "trainAttempt": 1,
            "family": "bert",
            "baseModel": model_name,
            "maxLength": int(max_length),
            "textTemplate": "title + ' ' + text",
            "labels": list(data.LABELS),
            "inputs": export.input_names(True),
            "outputs": ["logits"],
            "features": stats["featureStats"],
            "params": json.loads(params),
            "mitigation": None,
            "dataFingerprint": stats["fingerprint"],
            "validation": metrics.summary(encoded.labels.tolist(), reference.argmax(-1).tolist()),
            "parity": {
                "maxAbsLogitDiff": float(np.abs(fp32 - reference).max()),
                "int8Agreement": float((int8.argmax(-1) == fp32.argmax(-1)).mean()),
                "examples": len(validation),
            },
            "createdAt": datetime.now(timezone.utc).isoformat(),
        }
        (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        storage.upload_dir(folder, storage.join(train_out, "model"))
    print(json.dumps(metadata["parity"]))


if __name__ == "__main__":
    main()
