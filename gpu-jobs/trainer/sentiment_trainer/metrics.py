"""Validation metrics: accuracy, weighted and macro F1 over the three labels (scikit-learn's definitions)."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score

LABEL_IDS = [0, 1, 2]


def summary(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """`MetricsSummary`: what the events carry."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "weightedF1": float(f1_score(y_true, y_pred, labels=LABEL_IDS, average="weighted", zero_division=0)),
        "macroF1": float(f1_score(y_true, y_pred, labels=LABEL_IDS, average="macro", zero_division=0)),
    }
