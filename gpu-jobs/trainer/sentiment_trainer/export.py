"""The model folder: ONNX fp32 and int8, tokenizer.json, labels.json, metadata.json, behind a parity gate.

Gate: ONNX fp32 logits match PyTorch within 1e-4 on validation examples (tokenized by the exported tokenizer.json,
which must give the training ids): a hard check, a failure fails the job. The int8 model is judged by quality: its
validation weighted and macro F1 may be at most `tolerance` below fp32's (agreement is recorded beside them, never a
gate: near-tie predictions flip under any quantization without making the model worse). A more conservative int8
(sparing the encoder layers whose quantization moves the logits most) is tried when the first is not good enough; when
none is, the folder says so in metadata.json (`quantization.served` = fp32, with the reason) and evaluation and
serving load model.onnx. A rejected int8 export never fails the job.
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

from . import contracts, metrics
from .batching import Encoded, collate, sequential_batches
from .data import LABELS
from .errors import NonRetryableError
from .train_loop import predict_logits

MAX_ABS_DIFF = 1e-4
PARITY_EXAMPLES = 512
OPSET = 18
#: The int8 export's validation weighted and macro F1 may be this much below fp32's (training.int8F1Tolerance).
DEFAULT_INT8_F1_TOLERANCE = 0.02


class ParityError(NonRetryableError):
    """The exported model does not compute what the trained one does; the message carries the measured numbers."""


@dataclass(frozen=True)
class Parity:
    max_abs_logit_diff: float
    int8_agreement: float
    examples: int

    def to_json(self) -> dict[str, Any]:
        return {"maxAbsLogitDiff": self.max_abs_logit_diff, "int8Agreement": self.int8_agreement, "examples": self.examples}


@dataclass(frozen=True)
class Quantization:
    """What became of the int8 export: which export is served, and the numbers that decided it."""

    served: str
    method: str
    tolerance: float
    fp32: dict[str, float]
    int8: dict[str, float]
    agreement: float
    examples: int
    reason: str | None
    tried: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "method": self.method,
            "tolerance": self.tolerance,
            "fp32": self.fp32,
            "int8": self.int8,
            "agreement": self.agreement,
            "examples": self.examples,
            "reason": self.reason,
            "tried": list(self.tried),
        }


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


def _constant_matmuls(path: Path) -> list[tuple[str, list[int]]]:
    """The MatMul nodes with a constant 2-D weight, with the weight's shape."""
    model = onnx.load(str(path), load_external_data=False)
    shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2:
            dims = shapes.get(node.input[1])
            if dims is not None and len(dims) == 2:
                found.append((node.name, dims))
    return found


def encoder_matmuls(path: Path) -> list[str]:
    """Every matrix product with a constant weight: the attention projections and the feed-forward layers.

    Quantizing them all makes the served int8 about 1.5x faster than the feed-forward layers alone (minilm, batches of
    3, one thread: 97.5 against 63.5 reviews/s, docs/benchmarks.md); it was set aside when a 99% agreement gate judged
    int8 (98.3% on a fine-tuned minilm), and is the first try now that the gate is validation F1."""
    return [name for name, _ in _constant_matmuls(path)]


def feed_forward_matmuls(path: Path) -> list[str]:
    """The MatMul nodes with a constant, non-square weight: the feed-forward layers (hidden <-> intermediate).

    The square ones are the attention projections, which move near-tie predictions more; the feed-forward layers alone
    hold two thirds of the encoder's matrix weights. The second try when quantizing them all costs too much F1."""
    return [name for name, dims in _constant_matmuls(path) if dims[0] != dims[1]]


def encoder_layer(node_name: str) -> str | None:
    """`/model/encoder/layer.3/intermediate/dense/MatMul` -> `layer.3` (the exporter names nodes after modules)."""
    for part in node_name.split("/"):
        if part.startswith("layer.") or part.startswith("layers."):
            return part
    return None


def quantize_int8(src: Path, dest: Path, nodes: list[str] | None = None) -> None:
    """Dynamic int8 quantization, per channel, of the MatMul weights `nodes` (default: the feed-forward layers';
    activations quantized at run time)."""
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
            nodes_to_quantize=(nodes if nodes is not None else feed_forward_matmuls(src)) or None,
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


def _scores(logits: np.ndarray, labels: list[int]) -> dict[str, float]:
    found = metrics.summary(labels, logits.argmax(-1).tolist())
    return {"weightedF1": found["weightedF1"], "macroF1": found["macroF1"]}


def _shortfall(int8: dict[str, float], fp32: dict[str, float], tolerance: float) -> str | None:
    """Why int8 is not good enough, or None when both F1s are within `tolerance` of fp32's."""
    worse = [f"{name} {int8[k]:.4f} vs fp32 {fp32[k]:.4f}" for k, name in (("weightedF1", "weighted F1"), ("macroF1", "macro F1")) if int8[k] < fp32[k] - tolerance - 1e-12]
    return f"int8 validation {' and '.join(worse)} (tolerance {tolerance:g})" if worse else None


def _layer_sensitivity(folder: Path, fp32: np.ndarray, subset: Encoded, pad_id: int, use_features: bool) -> list[str]:
    """Encoder layers, most sensitive first: how far quantizing that layer alone moves the logits (mean |diff|)."""
    layers: dict[str, list[str]] = {}
    for node in feed_forward_matmuls(folder / "model.onnx"):
        layer = encoder_layer(node)
        if layer is not None:
            layers.setdefault(layer, []).append(node)
    moved: dict[str, float] = {}
    probe = folder / "probe.int8.onnx"
    try:
        for layer, nodes in layers.items():
            quantize_int8(folder / "model.onnx", probe, nodes)
            moved[layer] = float(np.abs(onnx_logits(_session(probe), subset, pad_id, use_features) - fp32).mean())
    finally:
        probe.unlink(missing_ok=True)
    return sorted(moved, key=lambda k: -moved[k])


def choose_int8(folder: Path, subset: Encoded, fp32: np.ndarray, pad_id: int, use_features: bool, tolerance: float) -> Quantization:
    """Quantizes every matrix weight (attention and feed-forward); when int8's F1 falls more than `tolerance` below fp32's, the
    feed-forward weights alone, then those sparing the most sensitive encoder layers (a quarter, then half of them);
    keeps the first good enough, else serves fp32."""
    labels = subset.labels.tolist()
    fp32_scores = _scores(fp32, labels)
    src, dest = folder / "model.onnx", folder / "model.int8.onnx"
    all_nodes = feed_forward_matmuls(src)
    tried: list[str] = []
    attempts: list[tuple[str, list[str] | None]] = [
        ("attention and feed-forward weights, per channel", encoder_matmuls(src)),
        ("feed-forward weights, per channel", None),
    ]
    best: tuple[str, dict[str, float], float, str | None] | None = None
    i = 0
    while i < len(attempts):
        method, nodes = attempts[i]
        quantize_int8(src, dest, nodes)
        int8 = onnx_logits(_session(dest), subset, pad_id, use_features)
        scores, agreement = _scores(int8, labels), float((int8.argmax(-1) == fp32.argmax(-1)).mean())
        why = _shortfall(scores, fp32_scores, tolerance)
        tried.append(f"{method}: weighted F1 {scores['weightedF1']:.4f}, macro F1 {scores['macroF1']:.4f}, agreement {agreement:.2%}")
        best = (method, scores, agreement, why)
        if why is None:
            break
        if i == 1:
            ranked = _layer_sensitivity(folder, fp32, subset, pad_id, use_features)
            for share in (4, 2):
                spared = set(ranked[: max(1, len(ranked) // share)])
                keep = [n for n in all_nodes if encoder_layer(n) not in spared]
                if keep and len(keep) < len(all_nodes):
                    attempts.append((f"feed-forward weights, per channel, sparing {', '.join(sorted(spared))}", keep))
        i += 1
    assert best is not None
    method, scores, agreement, why = best
    if why is not None:
        # The last try stays on disk for inspection; metadata.json says it is not the served export.
        return Quantization("fp32", method, tolerance, fp32_scores, scores, agreement, len(labels), f"int8 rejected, fp32 served: {why}", tuple(tried))
    return Quantization("int8", method, tolerance, fp32_scores, scores, agreement, len(labels), None, tuple(tried))


def check_parity(
    folder: Path, model: nn.Module, validation: Encoded, texts: list[str], pad_id: int, use_features: bool, tolerance: float = DEFAULT_INT8_F1_TOLERANCE
) -> tuple[Parity, Quantization]:
    """fp32 vs PyTorch on up to PARITY_EXAMPLES validation rows (ParityError with the numbers when it fails), then the
    int8 export chosen and judged on the same rows by `choose_int8`."""
    n = min(PARITY_EXAMPLES, len(validation))
    exported = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = [e.ids for e in exported.encode_batch(texts[:n])]
    mismatched = sum(a != b for a, b in zip(ids, validation.ids[:n], strict=True))
    if mismatched:
        raise ParityError(f"tokenizer.json encodes {mismatched} of {n} validation texts differently from training")
    subset = Encoded(ids=ids, features=validation.features[:n], labels=validation.labels[:n], weights=validation.weights[:n])
    reference = predict_logits(model.to("cpu").float(), subset, pad_id, torch.device("cpu"), use_features).numpy()
    fp32 = onnx_logits(_session(folder / "model.onnx"), subset, pad_id, use_features)
    max_diff = float(np.abs(fp32 - reference).max())
    if not max_diff <= MAX_ABS_DIFF:
        raise ParityError(
            f"export parity failed on {n} validation examples: max |logit(onnx fp32) - logit(pytorch)| = "
            f"{max_diff:.3g} (limit {MAX_ABS_DIFF:g})"
        )
    quantization = choose_int8(folder, subset, fp32, pad_id, use_features, tolerance)
    return Parity(max_abs_logit_diff=max_diff, int8_agreement=quantization.agreement, examples=n), quantization


def write_model_folder(
    folder: Path,
    model: nn.Module,
    tokenizer: Tokenizer,
    pad_id: int,
    use_features: bool,
    validation: Encoded,
    validation_texts: list[str],
    metadata: dict[str, Any],
    int8_tolerance: float = DEFAULT_INT8_F1_TOLERANCE,
) -> dict[str, Any]:
    """Writes every file, runs the gate, then writes metadata.json (validated) with the parity results. Returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "labels.json").write_text(json.dumps(list(LABELS)) + "\n", encoding="utf-8")
    export_onnx(model, folder / "model.onnx", use_features, pad_id)
    parity, quantization = check_parity(folder, model, validation, validation_texts, pad_id, use_features, int8_tolerance)
    full = {
        **metadata,
        "inputs": input_names(use_features),
        "outputs": ["logits"],
        "labels": list(LABELS),
        "parity": parity.to_json(),
        "quantization": quantization.to_json(),
    }
    contracts.check("model-metadata", full, "metadata.json")
    (folder / "metadata.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    return full
