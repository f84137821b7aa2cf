"""Small prepared data folders in the exact format of the prepare job (PreparedReview lines, PreparedStats), for tests.

The end-to-end tests use the real generator and prepare job when they are available (see conftest.py); these
fixtures keep the unit tests independent of Node and give them a known, clearly separable signal.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

LABELS = ("NEGATIVE", "NEUTRAL", "POSITIVE")
WORDS = {
    0: ["terrible", "broke", "awful", "refund", "disappointed", "useless", "worst", "cheap junk", "stopped working"],
    1: ["okay", "average", "fine", "decent enough", "mixed feelings", "nothing special", "so-so", "acceptable"],
    2: ["excellent", "love it", "great", "perfect", "highly recommend", "fantastic", "works well", "five stars"],
}
FILLER = ["the", "product", "arrived", "box", "color", "size", "battery", "after", "week", "my", "kids", "price", "quality", "use"]
CATEGORIES = ["Books", "Electronics", "Toys", "Home"]
YEARS = ["2019", "2020", "2021", "2022"]


def review(rng: random.Random, label: int, line: int) -> dict[str, Any]:
    words = [rng.choice(FILLER) for _ in range(rng.randint(4, 14))]
    for _ in range(rng.randint(1, 3)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS[label]))
    rating = {0: rng.choice([1, 2]), 1: 3, 2: rng.choice([4, 5])}[label]
    return {
        "id": f"u{line}|p{line % 97}|{1_600_000_000_000 + line}",
        "line": line,
        "title": rng.choice(WORDS[label]).capitalize(),
        "text": " ".join(words) + ".",
        "rating": float(rating),
        "label": LABELS[label],
        "labelId": label,
        "timestamp": 1_600_000_000_000 + line * 1000,
        "slices": {"year": rng.choice(YEARS), "main_category": rng.choice(CATEGORIES)},
        "features": [round(rng.gauss(0, 1), 4), float(rng.random() < 0.2), round(rng.gauss(0, 1), 4), float(rng.random() < 0.8)],
    }


def split_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_label = {lab: sum(r["label"] == lab for r in rows) for lab in LABELS}
    by_slice: dict[str, dict[str, int]] = {}
    for r in rows:
        for col, val in r["slices"].items():
            by_slice.setdefault(col, {}).setdefault(val, 0)
            by_slice[col][val] += 1
    return {"rows": len(rows), "byLabel": by_label, "bySlice": by_slice}


def write_prepared(folder: Path, rows: int = 600, seed: int = 7, shares: tuple[float, float, float] = (0.25, 0.2, 0.55)) -> Path:
    """Writes train/validation/test.jsonl (80/10/10) and stats.json; returns the folder."""
    rng = random.Random(seed)
    labels = rng.choices([0, 1, 2], weights=shares, k=rows)
    data = [review(rng, lab, i + 1) for i, lab in enumerate(labels)]
    n_train, n_val = int(rows * 0.8), int(rows * 0.1)
    splits = {"train": data[:n_train], "validation": data[n_train : n_train + n_val], "test": data[n_train + n_val :]}
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    counts = [sum(r["labelId"] == k for r in splits["train"]) for k in range(3)]
    total = sum(counts)
    stats = {
        "input": "synthetic",
        "format": "jsonl",
        "schema": "amazon-2023",
        "rowsRead": rows,
        "rowsKept": rows,
        "rowsRejected": 0,
        "rejectedByReason": {},
        "labelSource": {"column": 0, "rating": rows},
        "splitMode": "stratified",
        "seed": seed,
        "splits": {name: split_stats(part) for name, part in splits.items()},
        "classWeights": [total / (3 * max(c, 1)) for c in counts],
        "featureStats": {
            "names": ["price", "price_missing", "helpful_vote", "verified_purchase"],
            "priceFill": 19.99,
            "priceMean": 25.0,
            "priceStd": 12.0,
            "helpfulMean": 0.4,
            "helpfulStd": 0.7,
        },
        "fingerprint": hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest(),
    }
    (folder / "stats.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    return folder
