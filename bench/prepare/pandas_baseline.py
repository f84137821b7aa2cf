"""The benchmark's baseline: the same preparation in pandas, the way the original pipeline worked (whole file in a
DataFrame): clean HTML and whitespace, drop rows without text or a 1-5 rating, label from the rating, dedupe on
user|product|timestamp, year and main_category slices, a seeded stratified 80/10/10 split, side features scaled with
training statistics, three JSONL splits and a stats file.

    python bench/prepare/pandas_baseline.py INPUT.jsonl OUT_DIR

Prints one JSON line: rows read, kept, per split, seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TAG = r"</?[A-Za-z!][^>]*>"
LABELS = np.array(["NEGATIVE", "NEUTRAL", "POSITIVE"])


def clean(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.replace(TAG, " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()


def main() -> None:
    src, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    df = pd.read_json(src, lines=True, dtype=False)
    read = len(df)
    df["title"] = clean(df["title"])
    df["text"] = clean(df["text"])
    df["rating"] = pd.to_numeric(df["rating"], errors="coerce")
    df = df[(df["text"] != "") & df["rating"].between(1, 5)]
    ts = pd.to_numeric(df["timestamp"], errors="coerce")
    ts = ts.where(ts >= 1e11, ts * 1000)
    df = df.assign(timestamp=ts)
    product = df["parent_asin"].fillna(df.get("asin"))
    df["id"] = df["user_id"].astype(str) + "|" + product.astype(str) + "|" + ts.astype("Int64").astype(str)
    df = df.drop_duplicates(subset="id", keep="first")
    label_id = np.select([df["rating"] <= 2, df["rating"] >= 4], [0, 2], 1)
    df["labelId"] = label_id
    df["label"] = LABELS[label_id]
    years = pd.to_datetime(df["timestamp"], unit="ms", utc=True).dt.year.astype("Int64").astype(str)
    category = df["main_category"].fillna("unknown").astype(str).str.strip().replace("", "unknown")
    df["slices"] = [{"year": y, "main_category": c} for y, c in zip(years, category)]

    # Stratified split: a seeded permutation within each label, the first 10% test, the next 10% validation.
    rng = np.random.default_rng(42)
    split = np.zeros(len(df), dtype=np.int8)
    for lab in range(3):
        idx = np.flatnonzero(label_id == lab)
        idx = idx[rng.permutation(len(idx))]
        n_test, n_val = round(len(idx) * 0.1), round(len(idx) * 0.1)
        split[idx[:n_test]] = 2
        split[idx[n_test : n_test + n_val]] = 1
    train = split == 0

    price = pd.to_numeric(df["price"], errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(price)
    fill = float(np.nanmedian(price[train])) if (~missing & train).any() else 0.0
    filled = np.where(missing, fill, price)
    helpful = np.log1p(pd.to_numeric(df.get("helpful_vote", 0), errors="coerce").fillna(0).clip(lower=0).to_numpy(dtype=float))
    verified = df.get("verified_purchase", False)
    verified = pd.Series(verified, index=df.index).fillna(False).astype(bool).to_numpy()
    pm, ps = filled[train].mean(), filled[train].std() or 1.0
    hm, hs = helpful[train].mean(), helpful[train].std() or 1.0
    features = np.stack([(filled - pm) / ps, missing.astype(float), (helpful - hm) / hs, verified.astype(float)], axis=1)
    df["features"] = features.tolist()

    cols = ["id", "title", "text", "rating", "label", "labelId", "timestamp", "slices", "features"]
    counts = {}
    for k, name in enumerate(["train", "validation", "test"]):
        part = df.loc[split == k, cols]
        part.to_json(out / f"{name}.jsonl", orient="records", lines=True, force_ascii=False)
        counts[name] = int(len(part))
    stats = {"rowsRead": read, "rowsKept": int(len(df)), "splits": counts, "featureStats": {"priceFill": fill, "priceMean": pm, "priceStd": ps, "helpfulMean": hm, "helpfulStd": hs}}
    (out / "stats.json").write_text(json.dumps(stats))
    print(json.dumps({**stats, "seconds": round(time.perf_counter() - began, 3)}))


if __name__ == "__main__":
    main()
