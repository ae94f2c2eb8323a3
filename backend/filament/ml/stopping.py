"""When to stop labeling: stabilising predictions (Bloodgood & Vijay-Shanker, "A Method for
Stopping Active Learning Based on Stabilizing Predictions and the Need for User-Adjustable
Stopping", CoNLL 2009).

A fixed random *stop set* of unlabeled items is predicted by every model; Cohen's kappa between
the predictions of successive models says how much the last labels changed the model. Once it
stays above 0.99 for a few versions in a row, the model has stopped changing: more labels of
the kind the queue picks are unlikely to move it (the paper's rule; it takes the last three).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

KAPPA = 0.99
WINDOW = 3


def cohen_kappa(a: NDArray[np.integer | np.bool_], b: NDArray[np.integer | np.bool_]) -> float:
    """Cohen's kappa (Cohen 1960) of two label sequences; 1 when they are identical (chance
    agreement 1 included: both constant and equal), 0 for other degenerate cases."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        return 1.0
    observed = float((a == b).mean())
    k = int(max(a.max(), b.max())) + 1
    chance = float((np.bincount(a, minlength=k) * np.bincount(b, minlength=k)).sum()) / len(a) ** 2
    if observed == 1.0:
        return 1.0
    if chance >= 1.0:
        return 0.0
    return (observed - chance) / (1 - chance)


def calls(probs: NDArray[np.floating], multilabel: bool) -> NDArray[np.int64]:
    """A model's calls from its probabilities (rows: items): the argmax, or for multi-label
    each label present at 0.5 or more (a 0/1 matrix)."""
    probs = np.asarray(probs)
    if multilabel:
        return (probs >= 0.5).astype(np.int64)
    chosen: NDArray[np.int64] = probs.argmax(axis=1).astype(np.int64)
    return chosen


def calls_kappa(before: NDArray[np.integer], after: NDArray[np.integer], multilabel: bool) -> float:
    """Kappa between two models' ``calls`` on the same items; for multi-label the mean over
    the labels both know of each label's kappa."""
    if not multilabel:
        return cohen_kappa(before, after)
    shared = min(before.shape[1], after.shape[1])
    per_label = [cohen_kappa(before[:, j], after[:, j]) for j in range(shared)]
    return float(np.mean(per_label)) if per_label else 1.0


def predictions_kappa(
    before: NDArray[np.floating], after: NDArray[np.floating], multilabel: bool
) -> float:
    """Kappa between two models' calls (``calls``) on the same items from their
    probabilities."""
    return calls_kappa(calls(before, multilabel), calls(after, multilabel), multilabel)


@dataclass(frozen=True)
class StopRule:
    """``fired_at``: the index of the first kappa that completed ``window`` in a row above the
    threshold (None: never). ``holds``: the last ``window`` are all above it now."""

    fired_at: int | None
    holds: bool


def stop_rule(
    kappas: Sequence[float | None], threshold: float = KAPPA, window: int = WINDOW
) -> StopRule:
    """The stopping rule over successive versions' kappas (None: not comparable, which breaks a
    run)."""
    run, fired = 0, None
    for index, kappa in enumerate(kappas):
        run = run + 1 if kappa is not None and kappa >= threshold else 0
        if run >= window and fired is None:
            fired = index
    return StopRule(fired, run >= window)
