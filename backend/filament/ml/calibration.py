"""Confidence thresholds for suggestions, calibrated to a target precision.

The threshold is chosen on out-of-fold (cross-validated) predictions, never on the training
fit, in the spirit of selective classification (Geifman & El-Yaniv, "Selective Classification
for Deep Neural Networks", NeurIPS 2017): accept a prediction when its confidence is at least
``threshold``, where ``threshold`` is the lowest value whose accepted set reached the target
precision with at least ``min_support`` items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """``threshold``/``precision``: None when the target is unreachable. ``support``: the
    number of cross-validated predictions at or above the threshold (or, when unreachable,
    the number of predictions that were available)."""

    threshold: float | None
    precision: float | None
    support: int


def calibrate_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    target_precision: float,
    min_support: int = 5,
) -> Calibration:
    """Lowest threshold ``t`` with precision(confidence >= t) >= target and >= min_support
    items at or above ``t``. Items with non-finite confidence are ignored."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    valid = np.isfinite(confidence)
    confidence, correct = confidence[valid], correct[valid]
    if len(confidence) < max(min_support, 1):
        return Calibration(None, None, len(confidence))
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], np.cumsum(correct[order])
    # Only cut between distinct values: every item tied with the threshold is accepted too.
    ends = np.flatnonzero(np.r_[conf[1:] != conf[:-1], True])
    support = ends + 1
    precision = hits[ends] / support
    ok = np.flatnonzero((precision >= target_precision) & (support >= min_support))
    if len(ok) == 0:
        return Calibration(None, None, len(confidence))
    best = ok[-1]  # the lowest threshold: the largest accepted set that still meets the target
    return Calibration(float(conf[ends[best]]), float(precision[best]), int(support[best]))


def calibrate_single_label(
    cv_probs: np.ndarray, y: np.ndarray, target: float, min_support: int = 5
) -> Calibration:
    """Confidence = max probability; correct = argmax equals the label. NaN rows are ignored."""
    cv_probs = np.asarray(cv_probs, dtype=np.float64)
    if cv_probs.size == 0:
        return Calibration(None, None, 0)
    confidence = cv_probs.max(axis=1)
    correct = np.nan_to_num(cv_probs, nan=-1.0).argmax(axis=1) == np.asarray(y)
    return calibrate_threshold(confidence, correct, target, min_support)


def calibrate_multilabel(
    cv_probs: np.ndarray, Y: np.ndarray, target: float, min_support: int = 5
) -> list[Calibration]:
    """One calibration per label. The decision for label ``j`` is "present" when p >= 0.5
    (confidence p) and "absent" otherwise (confidence 1 - p); it is correct when it matches
    ``Y[:, j]``. A label without both positive and negative examples gets no threshold: the
    cross-validated predictions cannot show that the model tells them apart."""
    cv_probs = np.asarray(cv_probs, dtype=np.float64)
    Y = np.asarray(Y)
    result = []
    for j in range(Y.shape[1]):
        p, truth = cv_probs[:, j], Y[:, j].astype(bool)
        if truth.all() or not truth.any():
            result.append(Calibration(None, None, 0))
            continue
        decision = p >= 0.5
        confidence = np.where(decision, p, 1 - p)
        result.append(calibrate_threshold(confidence, decision == truth, target, min_support))
    return result
