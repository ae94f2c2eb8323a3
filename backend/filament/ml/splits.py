"""Held-out splits that keep label proportions: stratified (single-label) and iterative
stratification (multi-label; Sechidis, Tsoumakas & Vlahavas, "On the Stratification of
Multi-Label Data", ECML PKDD 2011)."""

from __future__ import annotations

import numpy as np


def holdout_split(
    Y: np.ndarray, multilabel: bool, fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, held_out)`` sorted row indices, ``held_out`` about ``fraction`` of the rows.

    Single-label: per class ``round(count * fraction)`` rows are held out, never a class's last
    row (a class seen once stays in training). Multi-label: iterative stratification, rarest
    label first. ``held_out`` is empty when the split would leave fewer than 2 training rows.
    """
    Y = np.asarray(Y)
    n = len(Y)
    rng = np.random.default_rng(seed)
    if n < 3 or fraction <= 0:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    if multilabel:
        held = _iterative(Y, fraction, rng)
    else:
        held_parts = []
        for label in np.unique(Y):
            rows = rng.permutation(np.flatnonzero(label == Y))
            k = min(round(len(rows) * fraction), len(rows) - 1)
            held_parts.append(rows[:k])
        held = np.concatenate(held_parts) if held_parts else np.zeros(0, dtype=np.int64)
    held = np.sort(held).astype(np.int64)
    if n - len(held) < 2:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(n), held), held


def _iterative(Y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Rows for the held-out part of a two-way iterative stratification."""
    n, _ = Y.shape
    ratios = np.array([1 - fraction, fraction])
    want_rows = ratios * n
    want_label = np.outer(ratios, Y.sum(axis=0)).astype(np.float64)
    subset = np.full(n, -1)
    remaining = Y.astype(bool).copy()
    while True:
        counts = remaining[subset < 0].sum(axis=0)
        labels = np.flatnonzero(counts)
        if len(labels) == 0:
            break
        label = labels[np.argmin(counts[labels] + rng.random(len(labels)) * 0.5)]
        for row in rng.permutation(np.flatnonzero((subset < 0) & remaining[:, label])):
            need = want_label[:, label]
            best = np.flatnonzero(need == need.max())
            if len(best) > 1:
                best = best[want_rows[best] == want_rows[best].max()]
            chosen = int(rng.choice(best))
            subset[row] = chosen
            want_label[chosen] -= Y[row]
            want_rows[chosen] -= 1
    for row in rng.permutation(np.flatnonzero(subset < 0)):  # rows without any label
        chosen = int(np.argmax(want_rows))
        subset[row] = chosen
        want_rows[chosen] -= 1
    return np.flatnonzero(subset == 1)
