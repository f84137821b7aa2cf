"""scikit-learn's and numpy's answers for the error analysis: what test/evaluate/error-analysis.test.ts holds
gpu-jobs/evaluate/error-analysis.ts to.

    python test/evaluate/py/sklearn_error_analysis_expected.py          # writes test/fixtures/metrics/sklearn-error-analysis.json
    npx prettier --write test/fixtures/metrics/sklearn-error-analysis.json  # the layout the repo checks
    python test/evaluate/py/sklearn_error_analysis_expected.py --check  # exit 1 when the committed file differs

Each case has y_true (class ids 0 NEGATIVE, 1 NEUTRAL, 2 POSITIVE) and probabilities (rows x 3). Per class, one
against the rest: sklearn.metrics.precision_recall_curve and average_precision_score. Calibration: the expected
calibration error of Guo et al. (2017), with the bins of their reference code (np.linspace edges, a row in the bin
(lower, upper]); scikit-learn has no multiclass ECE.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

OUT = Path(__file__).resolve().parents[2] / "fixtures" / "metrics" / "sklearn-error-analysis.json"
BINS = 10


def probabilities(rng: np.random.Generator, n: int, y: np.ndarray, sharp: float) -> np.ndarray:
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += sharp
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.round(p / p.sum(axis=1, keepdims=True), 6)


def cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(11)
    out = []
    y = rng.choice(3, size=200, p=[0.15, 0.1, 0.75])
    out.append(("imbalanced, fairly sharp, 200 rows", y, probabilities(rng, 200, y, 2.0)))
    y = rng.choice(3, size=120)
    out.append(("uniform, noisy, 120 rows", y, probabilities(rng, 120, y, 0.3)))
    # Scores rounded to 2 decimals: many ties, which the curve must collapse into one point each.
    y = rng.choice(3, size=90, p=[0.3, 0.2, 0.5])
    p = np.round(probabilities(rng, 90, y, 1.0), 2)
    out.append(("tied scores, 90 rows", y, p))
    y = np.array([0, 2, 2, 0, 2, 2])
    p = np.array([[0.7, 0.1, 0.2], [0.2, 0.1, 0.7], [0.6, 0.1, 0.3], [0.3, 0.2, 0.5], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]])
    out.append(("a class never true", y, p))
    y = np.array([0, 1, 2, 1])
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    out.append(("perfect and certain", y, p))
    return out


def ece(y: np.ndarray, p: np.ndarray) -> dict:
    conf = p.max(axis=1)
    pred = p.argmax(axis=1)
    acc = pred == y
    edges = np.linspace(0, 1, BINS + 1)
    bins, total, worst = [], 0.0, 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi)
        n = int(in_bin.sum())
        a = float(acc[in_bin].mean()) if n else None
        c = float(conf[in_bin].mean()) if n else None
        if n:
            gap = abs(a - c)
            total += n / len(y) * gap
            worst = max(worst, gap)
        bins.append({"low": float(lo), "high": float(hi), "count": n, "accuracy": a, "confidence": c})
    return {"bins": bins, "ece": total, "mce": worst}


def expected(y: np.ndarray, p: np.ndarray) -> dict:
    curves = []
    for c in range(3):
        positives = (y == c).astype(int)
        if positives.sum() == 0:
            curves.append({"positives": 0, "averagePrecision": None, "precision": None, "recall": None})
            continue
        precision, recall, _ = precision_recall_curve(positives, p[:, c])
        curves.append(
            {
                "positives": int(positives.sum()),
                "averagePrecision": float(average_precision_score(positives, p[:, c])),
                "precision": precision.tolist(),
                "recall": recall.tolist(),
            }
        )
    return {"curves": curves, "calibration": ece(y, p)}


def build() -> dict:
    import sklearn

    return {
        "sklearn": sklearn.__version__,
        "cases": [
            {"name": n, "yTrue": y.tolist(), "probabilities": p.tolist(), **expected(y, p)} for n, y, p in cases()
        ],
    }


def main() -> None:
    data = build()
    text = json.dumps(data, indent=2) + "\n"
    if "--check" in sys.argv:
        committed = json.loads(OUT.read_text(encoding="utf-8"))
        committed.pop("sklearn", None)
        fresh = json.loads(text)
        fresh.pop("sklearn", None)
        if committed != fresh:
            print(f"{OUT} differs from what scikit-learn {data['sklearn']} gives now: rerun without --check", file=sys.stderr)
            sys.exit(1)
        print(f"{OUT} matches scikit-learn {data['sklearn']}")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(data['cases'])} cases)")


if __name__ == "__main__":
    main()
