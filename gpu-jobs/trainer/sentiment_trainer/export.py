"""The model folder: ONNX fp32 and int8, tokenizer.json, labels.json, metadata.json, behind a parity gate.

Gate: ONNX fp32 logits match PyTorch within 1e-4 on validation examples (tokenized by the exported tokenizer.json,
which must give the training ids), and the int8 model agrees with fp32 on at least 99% of the predictions.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from tokenizers import Tokenizer
from torch import nn

from . import contracts
from .batching import Encoded, collate, sequential_batches
from .data import LABELS
from .errors import NonRetryableError
from .train_loop import predict_logits

MAX_ABS_DIFF = 1e-4
MIN_INT8_AGREEMENT = 0.99
PARITY_EXAMPLES = 512
OPSET = 18


class ParityError(NonRetryableError):
    """The exported model does not compute what the trained one does; the message carries the measured numbers."""


@dataclass(frozen=True)
class Parity:
    max_abs_logit_diff: float
    int8_agreement: float
    examples: int

    def to_json(self) -> dict[str, Any]:
        return {"maxAbsLogitDiff": self.max_abs_logit_diff, "int8Agreement": self.int8_agreement, "examples": self.examples}


def input_names(use_features: bool) -> list[str]:
    return ["input_ids", "attention_mask", *(["features"] if use_features else [])]


class _Exportable(nn.Module):
    """Fixes the forward signature to the ONNX inputs."""

    def __init__(self, model: nn.Module, use_features: bool) -> None:
        super().__init__()
        self.model = model
        self.use_features = use_features

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        logits: torch.Tensor = self.model(input_ids, attention_mask, features if self.use_features else None)
        return logits


def export_onnx(model: nn.Module, path: Path, use_features: bool, pad_id: int) -> None:
    """fp32 ONNX with dynamic batch and sequence axes; output `logits` [batch, 3]."""
    model = model.to("cpu").float().eval()
    wrapper = _Exportable(model, use_features).eval()
    ids = torch.tensor([[2, 7, 8, 9, 3], [2, 7, 3, pad_id, pad_id]], dtype=torch.long)
    mask = (ids != pad_id).long()
    mask[:, 0] = 1
    args: tuple[torch.Tensor, ...] = (ids, mask, torch.zeros((2, 4), dtype=torch.float32)) if use_features else (ids, mask)
    names = input_names(use_features)
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    if use_features:
        dynamic["features"] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: fast, and exact for these encoders (the parity gate proves it on every export).
        torch.onnx.export(
            wrapper, args, str(path), input_names=names, output_names=["logits"], dynamic_axes=dynamic, opset_version=OPSET, dynamo=False
        )


def feed_forward_matmuls(path: Path) -> list[str]:
    """MatMul nodes with a constant, non-square weight: the encoder's feed-forward layers (hidden <-> intermediate).

    The square ones are the attention projections: quantizing them too flipped borderline predictions of a fine-tuned
    minilm (98.3% agreement with fp32 on the review sample's validation split, under the 99% gate); the feed-forward
    layers alone hold two thirds of the encoder's matrix weights and kept 100%."""
    model = onnx.load(str(path), load_external_data=False)
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2:
            dims = shapes.get(node.input[1])
            if dims is not None and len(dims) == 2 and dims[0] != dims[1]:
                found.append(node.name)
    return found


def quantize_int8(src: Path, dest: Path) -> None:
    """Dynamic int8 quantization, per channel, of the feed-forward weights (activations quantized at run time)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process applies to static quantization, not to this
    try:
        quantize_dynamic(
            str(src),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_quantize=feed_forward_matmuls(src) or None,
            # For outputs shape inference cannot type (contrib ops of a fused graph, as in
            # bench/evaluate/onnx_variants.py); the exported graph's are all typed.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(session: Any, data: Encoded, pad_id: int, use_features: bool, batch_size: int = 64) -> np.ndarray:
    out = np.empty((len(data), 3), dtype=np.float32)
    for index in sequential_batches(data.lengths, batch_size):
        batch = collate(data, index, pad_id)
        feeds = {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].numpy()}
        if use_features:
            feeds["features"] = batch["features"].numpy()
        out[index] = session.run(["logits"], feeds)[0]
    return out


def check_parity(folder: Path, model: nn.Module, validation: Encoded, texts: list[str], pad_id: int, use_features: bool) -> Parity:
    """Runs the gate on up to PARITY_EXAMPLES validation rows; raises ParityError with the numbers when it fails."""
    n = min(PARITY_EXAMPLES, len(validation))
    exported = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = [e.ids for e in exported.encode_batch(texts[:n])]
    mismatched = sum(a != b for a, b in zip(ids, validation.ids[:n], strict=True))
    if mismatched:
        raise ParityError(f"tokenizer.json encodes {mismatched} of {n} validation texts differently from training")
    subset = Encoded(ids=ids, features=validation.features[:n], labels=validation.labels[:n], weights=validation.weights[:n])
    reference = predict_logits(model.to("cpu").float(), subset, pad_id, torch.device("cpu"), use_features).numpy()
    fp32 = onnx_logits(_session(folder / "model.onnx"), subset, pad_id, use_features)
    int8 = onnx_logits(_session(folder / "model.int8.onnx"), subset, pad_id, use_features)
    parity = Parity(
        max_abs_logit_diff=float(np.abs(fp32 - reference).max()),
        int8_agreement=float((int8.argmax(-1) == fp32.argmax(-1)).mean()),
        examples=n,
    )
    if not parity.max_abs_logit_diff <= MAX_ABS_DIFF or parity.int8_agreement < MIN_INT8_AGREEMENT:
        raise ParityError(
            f"export parity failed on {n} validation examples: max |logit(onnx fp32) - logit(pytorch)| = "
            f"{parity.max_abs_logit_diff:.3g} (limit {MAX_ABS_DIFF:g}), int8 agrees with fp32 on "
            f"{parity.int8_agreement:.2%} of predictions (minimum {MIN_INT8_AGREEMENT:.0%})"
        )
    return parity


def write_model_folder(
    folder: Path,
    model: nn.Module,
    tokenizer: Tokenizer,
    pad_id: int,
    use_features: bool,
    validation: Encoded,
    validation_texts: list[str],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """Writes every file, runs the gate, then writes metadata.json (validated) with the parity results. Returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "labels.json").write_text(json.dumps(list(LABELS)) + "\n", encoding="utf-8")
    export_onnx(model, folder / "model.onnx", use_features, pad_id)
    quantize_int8(folder / "model.onnx", folder / "model.int8.onnx")
    parity = check_parity(folder, model, validation, validation_texts, pad_id, use_features)
    full = {**metadata, "inputs": input_names(use_features), "outputs": ["logits"], "labels": list(LABELS), "parity": parity.to_json()}
    contracts.check("model-metadata", full, "metadata.json")
    (folder / "metadata.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    return full
