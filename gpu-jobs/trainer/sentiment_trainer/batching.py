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


def collate(data: Encoded, index: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Pads one batch to its own longest row (dynamic padding)."""
    rows = [data.ids[i] for i in index]
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    width = int(lengths.max())
    input_ids = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows], dtype=torch.long)
    mask = (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).long()
    sel = torch.tensor(index, dtype=torch.long)
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "features": data.features[sel],
        "labels": data.labels[sel],
        "weights": data.weights[sel],
    }
