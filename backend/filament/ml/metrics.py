"""Classification metrics for heads, as plain JSON-serialisable dicts.

Per-label dictionaries are keyed by the label index as a string (``"0"``, ``"1"``, ...), which
is what any JSON round trip turns integer keys into anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from filament.ml.intervals import BOOTSTRAP_RESAMPLES, percentile, resampling_weights, wilson


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


# -- estimates with intervals -----------------------------------------------------------------


def _estimate(
    value: float, interval: tuple[float, float], method: str, **extra: int
) -> dict[str, Any]:
    return {"value": value, "low": interval[0], "high": interval[1], "method": method, **extra}


def _f1_from_counts(tp: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    total = predicted + actual
    f1: np.ndarray = np.divide(2 * tp, total, out=np.zeros_like(tp), where=total > 0)
    return f1


def _macro(f1: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Mean F1 per resample (rows) over the labels that occur in that resample."""
    present = actual > 0
    mean: np.ndarray = (f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)
    return mean


def _bootstrap_f1(truth: np.ndarray, pred: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap macro- and micro-F1 from {0,1} matrices ``(n, labels)`` of truth/prediction.
    Per resample only three count vectors are needed, so each is one matrix product; resamples
    go in chunks of about a million weights (and fewer of them on very large sets, whose
    interval is narrow anyway), so memory stays small."""
    n = len(truth)
    resamples = BOOTSTRAP_RESAMPLES if n <= 5000 else 200
    chunk = max(1, min(resamples, 1_000_000 // n))
    hits = truth * pred
    macro, micro = [], []
    for start in range(0, resamples, chunk):
        W = resampling_weights(n, seed + start, min(chunk, resamples - start))
        tp, predicted, actual = W @ hits, W @ pred, W @ truth
        macro.append(_macro(_f1_from_counts(tp, predicted, actual), actual))
        micro.append(_f1_from_counts(tp.sum(axis=1), predicted.sum(axis=1), actual.sum(axis=1)))
    return np.concatenate(macro), np.concatenate(micro)


def held_out_metrics(
    Y: np.ndarray,
    probs: np.ndarray,
    multilabel: bool,
    n_labels: int,
    min_support: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of held-out predictions with 95 % intervals: Wilson for accuracy (subset accuracy
    for multi-label), percentile bootstrap over items for macro-/micro-F1. Rows without a
    prediction (NaN) are left out. Below ``min_support`` rows only the counts are given: an
    interval that wide informs nobody, and a bare point estimate misleads."""
    probs = np.asarray(probs, dtype=np.float64)
    Y = np.asarray(Y)
    keep = np.isfinite(probs).all(axis=1) if probs.size else np.zeros(len(Y), dtype=bool)
    Y, probs = Y[keep], probs[keep]
    n = len(Y)
    counts = Y.sum(axis=0) if multilabel else np.bincount(Y, minlength=n_labels)
    answer: dict[str, Any] = {
        "support": n,
        "min_support": min_support,
        "label_counts": [int(c) for c in counts],
    }
    if n == 0 or n < min_support:
        return answer
    if multilabel:
        truth, pred = Y.astype(np.float64), (probs >= 0.5).astype(np.float64)
        exact = int((truth == pred).all(axis=1).sum())
        macro, micro = _bootstrap_f1(truth, pred, seed)
        point = multilabel_metrics(Y.astype(int), probs)
        answer |= {
            "subset_accuracy": _estimate(exact / n, wilson(exact, n), "wilson", correct=exact),
            "micro_f1": _estimate(point["micro_f1"], percentile(micro), "bootstrap"),
            "macro_f1": _estimate(point["macro_f1"], percentile(macro), "bootstrap"),
        }
        return answer
    pred = probs.argmax(axis=1)
    correct = int((pred == Y).sum())
    eye = np.eye(n_labels)
    macro, _ = _bootstrap_f1(eye[Y], eye[pred], seed)
    point = single_label_metrics(Y, probs, n_labels)
    answer |= {
        "accuracy": _estimate(correct / n, wilson(correct, n), "wilson", correct=correct),
        "macro_f1": _estimate(point["macro_f1"], percentile(macro), "bootstrap"),
    }
    return answer


def primary_name(multilabel: bool) -> str:
    """The metric a model is summarised by (and versions compared by)."""
    return "micro_f1" if multilabel else "accuracy"


def judge(cv: dict[str, Any], audit: dict[str, Any], multilabel: bool) -> dict[str, Any]:
    """Which figure to trust, and whether the two disagree beyond their intervals.

    The audited figure, once it has its minimum support: its items are a random sample; of
    the audited figures the pool-wide accuracy (``pool_accuracy``, the audit labels sharpened
    by the model's confidence, with the queue's labels counted exactly) when there is one.
    Cross-validation otherwise, flagged as biased (the queue chose its items, mostly hard ones,
    so it tends to understate). ``disagree``: both intervals exist and do not overlap.
    ``figure``: the key of the trusted figure in its block."""
    name = primary_name(multilabel)
    figure = "pool_accuracy" if audit.get("pool_accuracy") else name
    a, c = audit.get(figure), cv.get(name)
    trust = "audit" if a else "cross_validated" if c else None
    disagree = bool(a and c and (a["low"] > c["high"] or c["low"] > a["high"]))
    return {
        "metric": name,
        "trust": trust,
        "disagree": disagree,
        "figure": figure if a else name if c else None,
    }
