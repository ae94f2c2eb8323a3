"""The model's accuracy on the whole pool: audit labels, sharpened by the model's confidence.

The pool splits in two. The items the queue chose for human labels (``queue``) have held-out
(out-of-fold) predictions and their labels: their share is known, not estimated. Everything
else (``rest``: unlabeled items, audit items, items labeled by confirming a suggestion) is
what the audit sample was drawn from, uniformly. Its accuracy is estimated by
prediction-powered inference (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic, Science 2023):
the mean over ``rest`` of ``g(confidence)``, the model's calibrated probability of being
right, plus a rectifier, the audit items' mean of ``correct - g(confidence)``. The
rectifier removes whatever bias ``g`` has, so the estimate rests on the audit sample alone; a
good ``g`` only makes it less noisy. ``g`` is fitted on the queue's labels, never on audit
ones, so the rectifier is an honest sample mean (Platt scaling, 1999, on the logit of the
confidence).

The gain is bounded by how much of the variance of "right or wrong" the confidence explains:
on the benchmark sets (``docs/benchmarks.md``) about 17 % even with the true calibration map,
so the interval is at best about 9 % narrower than one on the audit labels alone; most of what
this estimate gains over the plain audit mean on small pools comes from counting the queue's
labels exactly.

The interval is Wilson's with an effective sample size (Korn & Graubard, Survey Methodology
1998): ``n / design effect``, where the design effect is the rectifier's variance over the
audit labels' own ``p (1 - p)``. Unlike a normal interval on the rectifier it keeps its
coverage with few audit labels, or all of them right. The design effect is floored at
``MIN_DESIGN_EFFECT``: a handful of audit labels may by chance make the confidence look far
more telling than it can be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from filament.ml.intervals import LEVEL, wilson

MIN_DESIGN_EFFECT = 0.5  # never count an audit label as more than two
PLATT_RIDGE = 1e-2  # pulls the map towards the identity when the queue's labels say little
MIN_QUEUE_FOR_MAP = 10  # fewer queue labels: the raw confidence is the map


@dataclass(frozen=True)
class Held:
    """Held-out predictions of labeled items: the confidence in the predicted label(s) and
    whether the prediction was right."""

    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, confidence: np.ndarray, correct: np.ndarray) -> Held:
        confidence = np.asarray(confidence, dtype=np.float64)
        correct = np.asarray(correct, dtype=bool)
        keep = np.isfinite(confidence)
        return cls(confidence[keep], correct[keep])


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    logit: np.ndarray = np.log(p / (1 - p))
    return logit


@dataclass(frozen=True)
class CalibrationMap:
    """``g(confidence) = sigmoid(slope * logit(confidence) + intercept)``."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, confidence: np.ndarray) -> np.ndarray:
        z = self.slope * _logit(np.asarray(confidence, dtype=np.float64)) + self.intercept
        g: np.ndarray = 0.5 * (1 + np.tanh(0.5 * z))
        return g


def fit_map(held: Held) -> CalibrationMap:
    """Platt scaling of ``correct`` on the logit of ``confidence``, with a small ridge towards
    the identity (so a map from all-right or all-wrong labels stays finite)."""
    if len(held.correct) < MIN_QUEUE_FOR_MAP:
        return CalibrationMap()
    z, c = _logit(held.confidence), held.correct.astype(np.float64)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta
        u = a * z + b
        g = 0.5 * (1 + np.tanh(0.5 * u)) - c
        loss = np.sum(np.logaddexp(0, u) - c * u) + PLATT_RIDGE * ((a - 1) ** 2 + b**2) / 2
        grad = np.array([g @ z + PLATT_RIDGE * (a - 1), g.sum() + PLATT_RIDGE * b])
        return float(loss), grad

    result = minimize(objective, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return CalibrationMap(float(result.x[0]), float(result.x[1]))


def prediction_powered(
    g_rest: np.ndarray, g_audit: np.ndarray, audit_correct: np.ndarray, level: float = LEVEL
) -> dict[str, float]:
    """Accuracy of the population ``rest`` from ``g`` over all of it (``g_rest``) and the
    audit sample (a uniform draw from it) with ``g`` and correctness: the estimate, its
    Wilson interval with the effective sample size, and that design effect."""
    c = np.asarray(audit_correct, dtype=np.float64)
    n = len(c)
    rectifier = c - g_audit
    value = float(np.clip(np.mean(g_rest) + rectifier.mean(), 0.0, 1.0))
    spread = c.mean() * (1 - c.mean())
    # all right (or all wrong): the audit labels show no spread to compare with, so none is
    # claimed (Korn & Graubard's rule)
    effect = max(float(rectifier.var()) / spread, MIN_DESIGN_EFFECT) if spread > 0 else 1.0
    effective = n / effect
    low, high = wilson(value * effective, effective, level)
    return {"value": value, "low": low, "high": high, "design_effect": effect}


def pool_accuracy(
    queue: Held,
    audit: Held,
    rest_confidence: np.ndarray,
    min_support: int = 0,
    level: float = LEVEL,
) -> dict[str, Any] | None:
    """The model's accuracy over the pool with a 95 % interval; None below ``min_support``
    audit labels (or without any). ``queue``: held-out predictions of the labels the queue
    chose; ``audit``: of the audit labels; ``rest_confidence``: the model's confidence on
    every other item of the pool (unlabeled ones by the model itself, labeled ones held-out)."""
    n = len(audit.correct)
    if n == 0 or n < min_support:
        return None
    g = fit_map(queue)
    g_rest = g(np.concatenate([np.asarray(rest_confidence, dtype=np.float64), audit.confidence]))
    rest = prediction_powered(g_rest, g(audit.confidence), audit.correct, level)
    known, unknown = len(queue.correct), len(g_rest)
    share = unknown / (known + unknown)
    base = float(queue.correct.sum()) / (known + unknown)
    return {
        "value": base + share * rest["value"],
        "low": base + share * rest["low"],
        "high": base + share * rest["high"],
        "method": "prediction-powered",
        "audit_labels": n,
        "queue_labels": known,
        "pool_items": known + unknown,
        "design_effect": round(rest["design_effect"], 4),
    }


def single_label_pool_accuracy(
    y: np.ndarray,
    cv_probs: np.ndarray,
    audit_probs: np.ndarray | None,
    audit: np.ndarray,
    human: np.ndarray,
    unlabeled_probs: np.ndarray,
    min_support: int = 0,
) -> dict[str, Any] | None:
    """``pool_accuracy`` from a head fit (`filament.ml.heads.HeadFit`): labeled rows ``y`` with
    their out-of-fold ``cv_probs`` and the audit rows' ``audit_probs``; masks ``audit`` and
    ``human`` (not labeled by confirming a suggestion) over those rows; the deployed model's
    ``unlabeled_probs`` on the rest of the pool. Suggestion-confirmed rows count with the
    unlabeled ones: they were never the queue's choice, and their label is the model's own."""
    y = np.asarray(y)
    audit, human = np.asarray(audit, dtype=bool), np.asarray(human, dtype=bool)
    if audit_probs is None or not audit.any():
        return None

    def held(probs: np.ndarray, rows: np.ndarray) -> Held:
        p = np.asarray(probs, dtype=np.float64)[rows]
        confidence = p.max(axis=1) if len(p) else np.zeros(0)
        return Held.of(confidence, np.nan_to_num(p, nan=-1.0).argmax(axis=1) == y[rows])

    queue = held(cv_probs, human & ~audit)
    suggested = held(cv_probs, ~human & ~audit).confidence
    unlabeled = np.asarray(unlabeled_probs, dtype=np.float64)
    rest = np.concatenate([unlabeled.max(axis=1) if len(unlabeled) else np.zeros(0), suggested])
    return pool_accuracy(queue, held(audit_probs, audit), rest[np.isfinite(rest)], min_support)
