"""Cosine neighbours over a stored embedding matrix: nearest items, near-duplicate pairs, groups.

The matrix is float16 as stored (L2-normalised rows, so a dot product is the cosine); it is
converted to float32 a slice at a time, so a search never holds a float32 copy of the whole
pool. On 100k x 384 one query is a few tens of milliseconds (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

SLICE = 16384  # rows converted to float32 per matrix product


def _unit(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit: NDArray[np.float32] = v / np.maximum(norms, 1e-12)
    return unit


def nearest(
    matrix: NDArray[np.floating],
    query: NDArray[np.floating],
    k: int,
    exclude: NDArray[np.integer] | None = None,
) -> tuple[Ints, Floats]:
    """The ``k`` rows of ``matrix`` most similar to the ``query`` vector, most similar first
    (ties: lower row first), and their cosine similarities. ``exclude``: rows never returned
    (the query item itself)."""
    q = _unit(query)[0]
    n = len(matrix)
    k = max(0, min(k, n - (0 if exclude is None else len(np.unique(exclude)))))
    if k == 0 or n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows_kept, sims_kept = [], []
    skip = None if exclude is None else np.asarray(exclude, dtype=np.int64)
    for start in range(0, n, SLICE):
        sims = np.asarray(matrix[start : start + SLICE], dtype=np.float32) @ q
        if skip is not None:
            inside = skip[(skip >= start) & (skip < start + len(sims))] - start
            sims[inside] = -np.inf
        top = min(k, len(sims))
        # per slice only its own top k can reach the overall top k
        part = np.argpartition(-sims, top - 1)[:top] if top < len(sims) else np.arange(len(sims))
        rows_kept.append(part + start)
        sims_kept.append(sims[part])
    rows, sims = np.concatenate(rows_kept), np.concatenate(sims_kept).astype(np.float64)
    order = np.lexsort((rows, -sims))[:k]
    keep = np.isfinite(sims[order])
    return rows[order][keep].astype(np.int64), sims[order][keep]


def near_duplicate_pairs(
    matrix: NDArray[np.floating], rows: NDArray[np.integer], threshold: float
) -> tuple[Ints, Ints, Floats]:
    """Every pair ``(a, b)`` with ``a`` in ``rows`` and a cosine of at least ``threshold``,
    each pair once: ``b`` is outside ``rows`` or after ``a``. So comparing each new chunk of a
    growing matrix with everything up to it finds every pair exactly once."""
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    found_a, found_b, found_s = [], [], []
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    block = _unit(np.asarray(matrix[rows], dtype=np.float32))
    is_new = np.zeros(len(matrix), dtype=bool)
    is_new[rows] = True
    for start in range(0, len(matrix), SLICE):
        sims = block @ np.asarray(matrix[start : start + SLICE], dtype=np.float32).T
        i, j = np.nonzero(sims >= threshold)
        a, b = rows[i], j.astype(np.int64) + start
        keep = (a != b) & (~is_new[b] | (b > a))
        found_a.append(a[keep])
        found_b.append(b[keep])
        found_s.append(sims[i[keep], j[keep]].astype(np.float64))
    return np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_s)


def groups(a: NDArray[np.integer], b: NDArray[np.integer]) -> tuple[Ints, Ints]:
    """Connected components of the pairs ``(a[i], b[i])`` (ids of any kind): ``(ids, group)``
    for every id in a pair, sorted by id, ``group`` the smallest id of its component. Near
    duplicates chain (x ~ y ~ z puts x and z together though they may be further apart);
    above a cosine of 0.98 a chain stays within a few hundredths."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    ids, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    if len(ids) == 0:
        return ids, ids.copy()
    n = len(ids)
    edges = coo_matrix((np.ones(len(a)), (inverse[: len(a)], inverse[len(a) :])), shape=(n, n))
    _, component = connected_components(edges, directed=False)
    smallest = np.full(component.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, component, ids)
    group: Ints = smallest[component]
    return ids, group
