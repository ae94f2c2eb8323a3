"""Confidence intervals for proportions and for F1 scores of a small held-out sample.

- Wilson score interval (Wilson, JASA 1927): two-sided, for accuracy. Its coverage stays close
  to nominal down to a handful of items, unlike the normal ("Wald") interval (Brown, Cai &
  DasGupta, Statistical Science 2001).
- Clopper-Pearson lower bound (Biometrika 1934): one-sided and exact, never below nominal
  coverage; what a suggestion's precision promise rests on.
- Percentile bootstrap over items (Efron & Tibshirani 1993) for macro-/micro-F1, which are not
  proportions; vectorised with multinomial resampling weights, so 1,000 resamples take
  milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, norm

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000


def wilson(k: float, n: float, level: float = LEVEL) -> tuple[float, float]:
    """Two-sided Wilson interval for ``k`` successes out of ``n``; ``(0, 1)`` when n is 0.
    Counts may be fractional (an effective sample size, `filament.ml.pool_accuracy`)."""
    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def clopper_pearson_lower(
    k: np.ndarray | int, n: np.ndarray | int, level: float = LEVEL
) -> np.ndarray:
    """One-sided exact lower bound: P(true proportion >= bound) >= ``level``. 0 where k is 0."""
    k, n = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(1 - level, np.maximum(k, 1e-12), np.maximum(n - k + 1, 1e-12))
    return np.where(k > 0, np.nan_to_num(bound), 0.0)


def min_items_for(target: float, level: float = LEVEL) -> int:
    """The fewest items whose all-correct Clopper-Pearson bound reaches ``target``: below that
    no precision promise can be made, whatever the model does."""
    return int(np.ceil(np.log(1 - level) / np.log(target)))


def resampling_weights(n: int, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """``(resamples, n)`` counts: how often each item is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1 / n), size=resamples).astype(np.float64)


def percentile(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
