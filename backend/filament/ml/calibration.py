"""Confidence thresholds calibrated to a target precision on out-of-fold predictions.

A suggestion is offered only when the model's confidence is at least the threshold; the
threshold is the lowest one at which the cross-validated precision of predictions above it
reaches the target (cf. "selective classification", Geifman & El-Yaniv, NeurIPS 2017).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    threshold: float | None  # None: the target is not reachable on the data seen
    precision: float | None  # achieved on the out-of-fold predictions above the threshold
    support: int  # how many out-of-fold predictions are above it


def calibrate_threshold(
    confidence: np.ndarray, correct: np.ndarray, target_precision: float, min_support: int = 5
) -> Calibration:
    """Lowest threshold t with precision(confidence >= t) >= target and support >= min_support."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if len(confidence) == 0:
        return Calibration(None, None, 0)
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], correct[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    # a cut may only fall between different confidences: ties are in or out together
    last_of_tie = np.r_[conf[1:] != conf[:-1], True]
    ok = (precision >= target_precision) & last_of_tie & (np.arange(1, len(conf) + 1) >= min_support)
    if not ok.any():
        return Calibration(None, None, 0)
    cut = int(np.flatnonzero(ok)[-1])
    return Calibration(float(conf[cut]), float(precision[cut]), cut + 1)


def calibrate_single_label(cv_probs: np.ndarray, y: np.ndarray, target: float) -> Calibration:
    """Confidence = the top probability; correct = the argmax is the true label."""
    if len(y) == 0:
        return Calibration(None, None, 0)
    return calibrate_threshold(cv_probs.max(axis=1), cv_probs.argmax(axis=1) == y, target)


def calibrate_multilabel(cv_probs: np.ndarray, Y: np.ndarray, target: float) -> list[Calibration]:
    """One threshold per label on the confidence of its yes/no decision, max(p, 1 - p)."""
    return [
        calibrate_threshold(
            np.maximum(cv_probs[:, j], 1 - cv_probs[:, j]), (cv_probs[:, j] >= 0.5) == (Y[:, j] == 1),
            target,
        )
        for j in range(Y.shape[1])
    ]
