"""Likely label errors by confident learning (Northcutt, Jiang & Chuang, "Confident Learning:
Estimating Uncertainty in Dataset Labels", JAIR 2021), written from the paper.

Input: out-of-fold probabilities of the labeled items (no model saw the item it predicts) and
the label each item carries.

- Per class ``j`` the threshold ``t_j`` is the mean probability of ``j`` over the items labeled
  ``j``: the model's average self-confidence in that class. Classes nobody labeled get no
  threshold (the paper counts only classes with examples).
- An item labeled ``i`` confidently belongs to every class ``j`` with ``p_j >= t_j``; of those
  the most probable is its likely true class (a cell of the paper's confident joint).
- It is flagged when that class is not ``i`` and its probability is above ``p_i``: an
  off-diagonal entry of the confident joint.
- Items rank by self-confidence: ``score = 1 - p_i`` (higher: the model gives the label less
  credit). Every item gets it, flagged or not, so it also orders a whole list. The other
  common ranking, the normalised margin ``max_{j != i} p_j - p_i``, ranked planted errors
  worse on 4-topic news (top-k precision .55 against .58 within the flagged set, .55 against
  .62 over all labeled items; docs/benchmarks.md); with two classes the orders are the same.

Multi-label: each label is a binary task of its own (present / absent) with its two thresholds;
an item is flagged when any of its labels is, and its score is the largest over its labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class LabelIssues:
    """Per labeled row: ``score`` (1 - self-confidence; NaN where the row has no
    prediction), ``flagged``, and ``likely``: the class the model thinks it is (single-label)
    or the label whose call it disputes most (multi-label). ``thresholds``: per class, or
    ``(labels, 2)`` for multi-label as ``[absent, present]`` (inf where no row has that value).
    ``flagged_labels``: for multi-label, the ``(rows, labels)`` mask of disputed labels."""

    score: Floats
    flagged: Bools
    likely: Ints
    thresholds: Floats
    flagged_labels: Bools | None = None

    def ranking(self) -> Ints:
        """Flagged rows, surest error first (ties: lower row first)."""
        rows = np.flatnonzero(self.flagged)
        order = np.argsort(-self.score[rows], kind="stable")
        ranked: Ints = rows[order].astype(np.int64)
        return ranked


def _thresholds(probs: Floats, given: Ints, n_classes: int) -> Floats:
    """Mean self-confidence per class over the rows labeled with it; inf for classes without."""
    sums = np.zeros(n_classes)
    np.add.at(sums, given, probs[np.arange(len(given)), given])
    counts = np.bincount(given, minlength=n_classes).astype(np.float64)
    thresholds: Floats = np.divide(sums, counts, out=np.full(n_classes, np.inf), where=counts > 0)
    return thresholds


def single_label_issues(probs: NDArray[np.floating], given: NDArray[np.integer]) -> LabelIssues:
    """Confident learning on ``probs`` ``(n, classes)`` (NaN rows: not predicted, never
    flagged) for the labels ``given`` ``(n,)``."""
    all_probs: Floats = np.asarray(probs, dtype=np.float64)
    labels: Ints = np.asarray(given, dtype=np.int64)
    n, k = all_probs.shape
    score = np.full(n, np.nan)
    flagged = np.zeros(n, dtype=bool)
    likely = labels.copy()
    rows = np.flatnonzero(np.isfinite(all_probs).all(axis=1))
    if len(rows) == 0 or k < 2:
        return LabelIssues(score, flagged, likely, np.full(k, np.inf))
    p, y = all_probs[rows], labels[rows]
    thresholds = _thresholds(p, y, k)
    own = p[np.arange(len(rows)), y]
    others = p.copy()
    others[np.arange(len(rows)), y] = -np.inf
    score[rows] = 1 - own
    # the likely class: the most probable of the classes the row reaches the threshold of
    candidates = np.where(p >= thresholds, p, -np.inf)
    best = candidates.argmax(axis=1)
    has_candidate = np.isfinite(candidates.max(axis=1))
    off_diagonal = has_candidate & (best != y) & (p[np.arange(len(rows)), best] > own)
    flagged[rows] = off_diagonal
    # unflagged rows: the runner-up class, what "the model thinks" if anything else
    likely[rows] = np.where(off_diagonal, best, others.argmax(axis=1))
    return LabelIssues(score, flagged, likely, thresholds)


def multilabel_issues(probs: NDArray[np.floating], given: NDArray[np.integer]) -> LabelIssues:
    """Confident learning per label as a binary task: ``probs`` ``(n, labels)`` sigmoids, ``given``
    the ``(n, labels)`` {0, 1} matrix."""
    probs = np.asarray(probs, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    n, n_labels = probs.shape
    scores = np.full((n, n_labels), np.nan)
    label_flags = np.zeros((n, n_labels), dtype=bool)
    thresholds = np.full((n_labels, 2), np.inf)
    predicted = np.isfinite(probs).all(axis=1)
    for j in range(n_labels):
        binary = np.stack([1 - probs[predicted, j], probs[predicted, j]], axis=1)
        issues = single_label_issues(binary, given[predicted, j])
        scores[predicted, j] = issues.score
        label_flags[predicted, j] = issues.flagged
        thresholds[j] = issues.thresholds
    score = np.full(n, np.nan)
    likely = np.zeros(n, dtype=np.int64)
    if predicted.any():
        score[predicted] = scores[predicted].max(axis=1)
        # the disputed label with the highest score, or the highest score overall
        disputed = np.where(label_flags, scores, -np.inf)
        likely[predicted] = np.where(
            label_flags[predicted].any(axis=1),
            disputed[predicted].argmax(axis=1),
            scores[predicted].argmax(axis=1),
        )
    flagged: Bools = np.asarray(label_flags.any(axis=1), dtype=bool)
    return LabelIssues(score, flagged, likely, thresholds, label_flags)


def label_issues(
    probs: NDArray[np.floating], given: NDArray[np.integer], multilabel: bool
) -> LabelIssues:
    """``single_label_issues`` or ``multilabel_issues``."""
    if multilabel:
        return multilabel_issues(probs, given)
    return single_label_issues(probs, given)
