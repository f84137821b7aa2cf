"""scikit-learn's answers for fixture predictions: what test/evaluate/metrics.test.ts holds the TypeScript metrics to.

    python test/evaluate/py/sklearn_metrics_expected.py          # writes test/fixtures/metrics/sklearn-expected.json
    python test/evaluate/py/sklearn_metrics_expected.py --check  # exit 1 when the committed file differs

Each case has y_true and y_pred (class ids 0 NEGATIVE, 1 NEUTRAL, 2 POSITIVE) and the metrics in the `Metrics`
schema's shape: per class over all three labels, averages over the labels present (scikit-learn's default label
set), zero_division=0, and the classification_report text for the labels present with digits=4.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.utils.multiclass import unique_labels

LABELS = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
OUT = Path(__file__).resolve().parents[2] / "fixtures" / "metrics" / "sklearn-expected.json"


def cases() -> list[tuple[str, list[int], list[int]]]:
    rng = np.random.default_rng(7)
    out = []
    y = rng.choice(3, size=500, p=[0.15, 0.1, 0.75])
    noisy = np.where(rng.random(500) < 0.25, rng.choice(3, size=500), y)
    out.append(("random imbalanced, 500 rows", y.tolist(), noisy.tolist()))
    y = rng.choice(3, size=97)
    out.append(("uniform noise, 97 rows", y.tolist(), rng.choice(3, size=97).tolist()))
    y = rng.choice(3, size=60, p=[0.3, 0.2, 0.5])
    out.append(("neutral never predicted", y.tolist(), np.where(y == 1, 2, y).tolist()))
    out.append(("neutral predicted but never true", [0, 0, 2, 2, 2, 0], [0, 1, 2, 1, 2, 0]))
    out.append(("only two classes at all", [0, 2, 2, 0, 2], [0, 2, 0, 0, 2]))
    out.append(("perfect", [0, 1, 2, 2, 1, 0, 2], [0, 1, 2, 2, 1, 0, 2]))
    out.append(("single row", [1], [1]))
    out.append(("two rows, one wrong", [1, 0], [2, 0]))
    out.append(("single class, all right", [2, 2, 2], [2, 2, 2]))
    # precision of NEGATIVE is 1/32 = 0.03125 exactly: a rounding tie at 4 digits (Python prints 0.0312).
    out.append(("rounding tie", [0] + [2] * 31 + [1, 1], [0] * 32 + [1, 2]))
    return out


def expected(y_true: list[int], y_pred: list[int]) -> dict:
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2], zero_division=0)
    m: dict = {"accuracy": float(accuracy_score(y_true, y_pred))}
    for avg in ("weighted", "macro"):
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        m[f"{avg}Precision"], m[f"{avg}Recall"], m[f"{avg}F1"] = float(ap), float(ar), float(af)
    m["perClass"] = {
        LABELS[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i in range(3)
    }
    m["confusion"] = confusion_matrix(y_true, y_pred, labels=[0, 1, 2]).tolist()
    m["support"] = len(y_true)
    present = [int(c) for c in unique_labels(y_true, y_pred)]
    report = classification_report(
        y_true, y_pred, labels=present, target_names=[LABELS[c] for c in present], digits=4, zero_division=0
    )
    return {"metrics": m, "report": report}


def build() -> dict:
    import sklearn

    return {
        "sklearn": sklearn.__version__,
        "cases": [{"name": n, "yTrue": t, "yPred": p, **expected(t, p)} for n, t, p in cases()],
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
