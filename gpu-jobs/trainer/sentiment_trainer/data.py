"""The prepared splits: read and check `PreparedReview` lines, tokenize, weight, and batch them by length."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from . import contracts, storage
from .args import MitigationPlan
from .batching import Encoded
from .errors import JobInputError

LABELS = ("NEGATIVE", "NEUTRAL", "POSITIVE")
SPLITS = ("train", "validation", "test")


class DataError(JobInputError):
    """A split or the stats file is missing or unusable; the message names the file, line and field."""


@dataclass(frozen=True)
class Review:
    text: str
    label_id: int
    features: tuple[float, ...]
    slices: dict[str, str]


def model_text(title: str, text: str) -> str:
    """What the model reads; serving builds the same string (metadata.textTemplate)."""
    return f"{title} {text}"


def read_split(data_dir: str, name: str) -> list[Review]:
    uri = storage.join(data_dir, f"{name}.jsonl")
    try:
        content = storage.read_text(uri)
    except storage.StorageError as err:
        raise DataError(f"cannot read the {name} split: {err}") from None
    reviews = []
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{uri} line {n}: not JSON ({err.msg})") from None
        found = contracts.errors("prepared-review", row)
        if found:
            detail = "; ".join(f"{contracts.path_of(e)}: {e.message[:200]}" for e in found[:3])
            raise DataError(f"{uri} line {n}: not a PreparedReview: {detail}")
        if LABELS.index(row["label"]) != row["labelId"]:
            raise DataError(f"{uri} line {n}: labelId {row['labelId']} does not match label {row['label']}")
        reviews.append(
            Review(
                text=model_text(row["title"], row["text"]),
                label_id=int(row["labelId"]),
                features=tuple(float(x) for x in row["features"]),
                slices=dict(row["slices"]),
            )
        )
    if not reviews:
        raise DataError(f"{uri}: the {name} split has no rows")
    return reviews


def read_stats(data_dir: str) -> dict[str, Any]:
    uri = storage.join(data_dir, "stats.json")
    try:
        stats: dict[str, Any] = json.loads(storage.read_text(uri))
    except storage.StorageError as err:
        raise DataError(f"cannot read the data stats: {err}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{uri}: not JSON ({err.msg} at line {err.lineno})") from None
    try:
        contracts.check("prepared-stats", stats, uri)
    except contracts.ContractError as err:
        raise DataError(str(err)) from None
    return stats


def example_weights(reviews: list[Review], plan: MitigationPlan | None) -> list[float]:
    """The largest weight among the plan's slices that a row belongs to, else 1."""
    if plan is None:
        return [1.0] * len(reviews)
    out = []
    for r in reviews:
        matching = [s.weight for s in plan.slices if s.holds(r.slices)]
        out.append(max(matching, default=1.0))
    return out


def encode(tokenizer: Any, reviews: list[Review], weights: list[float] | None = None) -> Encoded:
    """`tokenizer` is a `tokenizers.Tokenizer` with truncation set and no padding: the exported tokenizer.json."""
    encodings = tokenizer.encode_batch([r.text for r in reviews])
    return Encoded(
        ids=[e.ids for e in encodings],
        features=torch.tensor([r.features for r in reviews], dtype=torch.float32),
        labels=torch.tensor([r.label_id for r in reviews], dtype=torch.long),
        weights=torch.tensor(weights if weights is not None else [1.0] * len(reviews), dtype=torch.float32),
    )
