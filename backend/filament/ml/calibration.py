"""Confidence thresholds for suggestions, with a precision promise the data backs.

The threshold is chosen on held-out (out-of-fold) predictions of human labels, never on the
training fit and never on labels confirmed from suggestions (those are exactly the confident
items, and would make the model vouch for itself). In the spirit of selective classification
(Geifman & El-Yaniv, NeurIPS 2017), a prediction is accepted when its confidence is at least
``threshold``: the lowest value whose accepted set has a one-sided Clopper-Pearson lower bound
of its precision (95 %) at or above the target. A point estimate would not do: "100 %" on ten
items is what a 90 % model shows a third of the time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from filament.ml.intervals import LEVEL, clopper_pearson_lower


@dataclass(frozen=True)
class Calibration:
    """``threshold``: None when the target is out of reach. ``precision`` / ``lower_bound``:
    the accepted set's precision on the calibration items and its 95 % lower bound.
    ``support``: calibration items at or above the threshold (or, when unreachable, all of
    them). ``items``: the calibration items there were. ``best_bound``: the highest lower
    bound any threshold reaches on them: the highest target these labels can back now (None
    when no threshold has the minimum support)."""

    threshold: float | None
    precision: float | None
    support: int
    lower_bound: float | None = None
    items: int = 0
    best_bound: float | None = None


def calibrate_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    target_precision: float,
    min_support: int = 1,
    level: float = LEVEL,
) -> Calibration:
    """Lowest threshold ``t`` whose accepted set (confidence >= t, at least ``min_support``
    items) has a Clopper-Pearson lower bound of precision >= the target. Items with
    non-finite confidence are ignored."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    valid = np.isfinite(confidence)
    confidence, correct = confidence[valid], correct[valid]
    n = len(confidence)
    unreachable = Calibration(None, None, n, None, n)
    if n < max(min_support, 1):
        return unreachable
    order = np.argsort(-confidence, kind="stable")
    conf, hits = confidence[order], np.cumsum(correct[order])
    # Only cut between distinct values: every item tied with the threshold is accepted too.
    ends = np.flatnonzero(np.r_[conf[1:] != conf[:-1], True])
    support = ends + 1
    bound = clopper_pearson_lower(hits[ends], support, level)
    supported = support >= min_support
    reachable = float(bound[supported].max()) if supported.any() else None
    ok = np.flatnonzero((bound >= target_precision) & supported)
    if len(ok) == 0:
        return replace(unreachable, best_bound=reachable)
    best = ok[-1]  # the lowest threshold: the largest accepted set whose bound meets the target
    return Calibration(
        float(conf[ends[best]]),
        float(hits[ends[best]] / support[best]),
        int(support[best]),
        float(bound[best]),
        n,
        reachable,
    )


def calibrate_single_label(
    cv_probs: np.ndarray, y: np.ndarray, target: float, min_support: int = 1
) -> Calibration:
    """Confidence = max probability; correct = argmax equals the label. NaN rows are ignored."""
    cv_probs = np.asarray(cv_probs, dtype=np.float64)
    if cv_probs.size == 0:
        return Calibration(None, None, 0)
    confidence = cv_probs.max(axis=1)
    correct = np.nan_to_num(cv_probs, nan=-1.0).argmax(axis=1) == np.asarray(y)
    return calibrate_threshold(confidence, correct, target, min_support)


def calibrate_multilabel(
    cv_probs: np.ndarray, Y: np.ndarray, target: float, min_support: int = 1
) -> list[Calibration]:
    """One calibration per label. The decision for label ``j`` is "present" when p >= 0.5
    (confidence p) and "absent" otherwise (confidence 1 - p); it is correct when it matches
    ``Y[:, j]``. A label without both positive and negative examples gets no threshold: the
    held-out predictions cannot show that the model tells them apart."""
    cv_probs = np.asarray(cv_probs, dtype=np.float64)
    Y = np.asarray(Y)
    result = []
    for j in range(Y.shape[1]):
        p, truth = cv_probs[:, j], Y[:, j].astype(bool)
        if truth.all() or not truth.any():
            result.append(Calibration(None, None, 0, None, len(truth)))
            continue
        decision = p >= 0.5
        confidence = np.where(decision, p, 1 - p)
        result.append(calibrate_threshold(confidence, decision == truth, target, min_support))
    return result


def expected_wrong(accepted: int, lower_bounds: list[float]) -> float:
    """How many of ``accepted`` suggestions may be wrong at the promised bound(s): (1 - bound)
    of them per label; for multi-label an item is wrong if any of its labels is (a union
    bound, capped at ``accepted``)."""
    share = sum(1 - b for b in lower_bounds)
    return round(min(float(accepted), accepted * share), 1)
