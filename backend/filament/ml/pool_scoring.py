"""Scoring a project's whole embedded pool with its heads: the head-training job's largest step
on a big project (a million float16 rows), kept apart from ``heads`` because it uses torch's
float16 cast (``heads`` and the API's imports of it need no torch)."""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from filament.ml.heads import HeadModel

POOL_SLICE = 2048  # rows per slice: 1.5 MB as float32 (384-d), held in the CPU's cache


def predict_pool(models: list[HeadModel], X: np.ndarray) -> list[np.ndarray]:
    """Each model's ``predict_proba`` of the whole pool ``X`` in one pass.

    A float16 pool is read in slices of ``POOL_SLICE`` rows, each made float32 once for all the
    models by torch into buffers that stay in the CPU's cache: numpy's float16 cast is 4-5x
    slower than torch's, and a product over a slice still in cache is 3x faster than over one
    read back from memory. One thread (BLAS and torch's OpenMP), as in ``train_head``: with
    two, each slice's thread wake-ups cost more than the slice. Two heads on a million 384-d
    rows, on a loaded 2-core host: 3.6 s (numpy's cast of 16,384-row slices) -> 5.0 s (these
    slices, two threads) -> 1.0 s (one)."""
    if len(X) == 0 or X.dtype != np.float16:
        return [model.predict_proba(np.asarray(X, dtype=np.float32)) for model in models]
    with threadpool_limits(1):
        return _predict_float16_slices(models, X)


def _predict_float16_slices(models: list[HeadModel], X: np.ndarray) -> list[np.ndarray]:
    out: list[list[np.ndarray]] = [[] for _ in models]
    half = np.empty((min(POOL_SLICE, len(X)), X.shape[1]), dtype=np.float16)
    single = np.empty(half.shape, dtype=np.float32)
    half_t, single_t = torch.from_numpy(half), torch.from_numpy(single)
    for start in range(0, len(X), POOL_SLICE):
        n = min(POOL_SLICE, len(X) - start)
        half[:n] = X[start : start + n]  # a plain copy: the map may be read-only
        single_t[:n].copy_(half_t[:n])
        for parts, model in zip(out, models, strict=True):
            parts.append(model.predict_proba(single[:n]))
    return [np.concatenate(parts) for parts in out]
