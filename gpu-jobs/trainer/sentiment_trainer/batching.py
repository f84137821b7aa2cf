"""Batches of a tokenized split: length-grouped shuffling and dynamic padding (torch only, so benchmarks can import it)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch


@dataclass
class Encoded:
    """A tokenized split: ragged ids, side features, labels and per-example loss weights."""

    ids: list[list[int]]
    features: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> list[int]:
        return [len(x) for x in self.ids]


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding): sort within mega-batches of 50, then shuffle batch order."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sequential_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Evaluation order: by length, so each batch pads little; results are put back in row order by the caller."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def bucket_width(width: int, multiple: int, longest: int) -> int:
    """`width` rounded up to a multiple of `multiple`, but never past `longest` (the data's longest row, within the
    model's positions): a compiled step then sees a few sequence lengths, one CUDA graph each, not one per batch."""
    if multiple <= 0:
        return width
    return max(width, min(-(-width // multiple) * multiple, longest))


def collate(data: Encoded, index: list[int], pad_id: int, rows: int = 0, width_multiple: int = 0, longest: int = 0) -> dict[str, torch.Tensor]:
    """Pads one batch to its own longest row (dynamic padding).

    For a compiled step, fixed shapes: `width_multiple` rounds the width up to a bucket (see `bucket_width`), and `rows`
    fills a short batch (an epoch's last) up to that many rows with copies of its first row at loss weight 0, which
    change neither the loss nor its gradient (the loss is normalised by the batch's total weight)."""
    fill = max(0, rows - len(index))
    index = index + [index[0]] * fill
    batch_rows = [data.ids[i] for i in index]
    lengths = torch.tensor([len(r) for r in batch_rows], dtype=torch.long)
    width = int(lengths.max())
    if width_multiple:
        width = bucket_width(width, width_multiple, max(longest, width))
    input_ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in batch_rows], dtype=torch.long)
    mask = (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).long()
    sel = torch.tensor(index, dtype=torch.long)
    weights = data.weights[sel]
    if fill:
        weights = weights.clone()
        weights[len(index) - fill :] = 0
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "features": data.features[sel],
        "labels": data.labels[sel],
        "weights": weights,
    }
