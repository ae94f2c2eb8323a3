"""Classification metrics for heads, as plain JSON-serialisable dicts.

Per-label dictionaries are keyed by the label index as a string (``"0"``, ``"1"``, ...), which
is what any JSON round trip turns integer keys into anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def _per_label(
    y_true: np.ndarray, y_pred: np.ndarray, n_labels: int
) -> tuple[dict[str, dict[str, float | int]], float]:
    """Per-label precision/recall/F1/support and the macro-F1 over labels that occur."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(n_labels), zero_division=0
    )
    per_label = {
        str(j): {
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
        }
        for j in range(n_labels)
    }
    present = support > 0
    return per_label, float(f1[present].mean()) if present.any() else 0.0


def single_label_metrics(y: np.ndarray, probs: np.ndarray, n_labels: int) -> dict[str, Any]:
    """Accuracy, macro-F1 (over labels present in ``y``), per-class scores, confusion matrix
    (rows = true label, columns = predicted)."""
    pred = probs.argmax(axis=1)
    per_class, macro_f1 = _per_label(y, pred, n_labels)
    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": macro_f1,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y, pred, labels=np.arange(n_labels)).tolist(),
    }


def multilabel_metrics(Y: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Micro-F1, macro-F1 (over labels with a positive), per-label scores, subset accuracy."""
    pred = (probs >= threshold).astype(int)
    n_labels = Y.shape[1]
    per_label, macro_f1 = _per_label(Y, pred, n_labels)
    tp = int((pred & Y).sum())
    fp, fn = int((pred & (1 - Y)).sum()), int(((1 - pred) & Y).sum())
    return {
        "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "macro_f1": macro_f1,
        "per_label": per_label,
        "subset_accuracy": float((pred == Y).all(axis=1).mean()),
    }
