"""How many more labels: an inverse power law fitted to the learning curve.

Learning curves of classifiers are well described by ``acc(n) = a - b * n^(-c)`` (Figueroa et
al., "Predicting sample size required for classification performance", BMC Medical
Informatics and Decision Making 2012; Mukherjee et al., J. Comput. Biol. 2003): ``a`` is the
curve's ceiling, ``b`` and ``c`` how fast it closes in on it.

The fit is weighted least squares (each point by the inverse of its binomial variance, so a
figure on 300 items counts more than one on 30). For a fixed ``c`` the model is linear in
``a`` and ``b``, solved in closed form; ``c`` is searched on a grid and refined, so the fit
needs no starting guess and never diverges. Constraints: ``b >= 0`` (the curve rises),
``a <= 1``.

The question it answers is local: how many more labels for one more point (``STEP``), and has
the curve flattened (one more point would take more than doubling the labels). Both read the
fitted slope (``b`` and ``c``) near the data and not the ceiling ``a``, the least identified
parameter: on the simulated loop, ceilings fitted to a few hundred audited labels ranged from
.75 to 1.0 where the true plateau was .85-.90, and "labels to the ceiling" came out anywhere
between the labels there were and 1e58 (docs/benchmarks.md). The exponent is kept in
``[0.1, 2]``, the range learning curves of classifiers fall in; below it "labels needed" runs to
absurd numbers on noise.

The interval on "labels needed" is a percentile bootstrap over the curve's points (Efron &
Tibshirani 1993): points drawn with replacement, the law refitted, the labels read off again.
A resample whose curve never gets there counts as "never", so the upper end can be unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

from filament.ml.intervals import LEVEL

Floats = NDArray[np.float64]

C_GRID = np.geomspace(0.1, 2.0, 120)
MIN_POINTS = 4
RESAMPLES = 300
STEP = 0.01  # one point: "labels for one more point"; flattened when that takes doubling


@dataclass(frozen=True)
class PowerLaw:
    a: float
    b: float
    c: float

    def at(self, n: NDArray[np.floating] | float) -> Floats:
        value: Floats = self.a - self.b * np.power(np.asarray(n, dtype=np.float64), -self.c)
        return value

    def gain_if_doubled(self, n: float) -> float:
        """What doubling the labels from ``n`` adds on this curve."""
        return float(self.at(2 * n) - self.at(n))

    def labels_for(self, target: float) -> float:
        """The labels at which the curve reaches ``target``; inf when it never does."""
        if target >= self.a or self.b <= 0:
            return float("inf") if target >= self.a else 1.0
        return float((self.b / (self.a - target)) ** (1 / self.c))


def _weights(y: Floats, support: Floats) -> Floats:
    p = np.clip(y, 0.05, 0.95)
    weights: Floats = support / (p * (1 - p))
    return weights


def _solve_ab(x: Floats, y: Floats, w: Floats) -> tuple[Floats, Floats, Floats]:
    """Weighted least squares of ``y = a - b x`` with b >= 0 and a <= 1, for each row of ``x``
    ``(fits, points)`` at once: ``(a, b, loss)`` per row."""
    sw = w.sum()
    mx, my = (x * w).sum(axis=1) / sw, (w * y).sum() / sw
    dx = x - mx[:, None]
    sxx = (w * dx * dx).sum(axis=1)
    b = np.where(sxx > 0, -(w * dx * (y - my)).sum(axis=1) / np.maximum(sxx, 1e-300), 0.0)
    b = np.maximum(b, 0.0)
    a = my + b * mx
    # a ceiling above 1: pin it at 1 and refit the slope alone
    capped = a > 1
    sx = (w * x * x).sum(axis=1)
    b_capped = np.maximum(0.0, (w * x * (1 - y)).sum(axis=1) / np.maximum(sx, 1e-300))
    a, b = np.where(capped, 1.0, a), np.where(capped, b_capped, b)
    loss: Floats = (w * (y - (a[:, None] - b[:, None] * x)) ** 2).sum(axis=1)
    return a, b, loss


def fit_power_law(
    n: NDArray[np.floating],
    y: NDArray[np.floating],
    support: NDArray[np.floating] | None = None,
    refine: bool = True,
) -> PowerLaw | None:
    """The law through the points ``(n, y)`` (``support``: items each figure rests on, for the
    weights; equal weights without); None with fewer than ``MIN_POINTS`` distinct ``n``.
    ``refine``: search ``c`` between the grid's points too (the bootstrap's refits skip it)."""
    labels: Floats = np.asarray(n, dtype=np.float64)
    figures: Floats = np.asarray(y, dtype=np.float64)
    counts: Floats = np.ones(len(figures)) if support is None else np.asarray(support, np.float64)
    w = _weights(figures, counts)
    if len(np.unique(labels)) < MIN_POINTS or (labels <= 0).any():
        return None
    log_n = np.log(labels)
    a, b, losses = _solve_ab(np.exp(-C_GRID[:, None] * log_n), figures, w)
    best = int(np.argmin(losses))
    law = PowerLaw(float(a[best]), float(b[best]), float(C_GRID[best]))
    if not refine:
        return law
    low, high = C_GRID[max(best - 1, 0)], C_GRID[min(best + 1, len(C_GRID) - 1)]

    def loss(c: float) -> float:
        return float(_solve_ab(np.exp(-c * log_n)[None, :], figures, w)[2][0])

    refined = minimize_scalar(loss, bounds=(low, high), method="bounded")
    if refined.success and refined.fun < losses[best]:
        c = float(refined.x)
        a1, b1, _ = _solve_ab(np.exp(-c * log_n)[None, :], figures, w)
        law = PowerLaw(float(a1[0]), float(b1[0]), c)
    return law


@dataclass(frozen=True)
class Forecast:
    """``law``: the fit on every point; ``laws``: the fits of the bootstrap resamples (those
    with enough distinct points)."""

    law: PowerLaw
    laws: list[PowerLaw]
    labels_now: int

    def labels_needed(self, target: float, level: float = LEVEL) -> tuple[float, float, float]:
        """Total labels to reach ``target``: ``(point, low, high)``; inf: never on this curve."""
        point = max(self.law.labels_for(target), float(self.labels_now))
        if not self.laws:
            return point, point, float("inf")
        needed = np.array([max(law.labels_for(target), self.labels_now) for law in self.laws])
        # order statistics, not interpolation: resamples that never get there are inf
        low, high = np.quantile(needed, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
        return point, float(low), float(high)

    def ceiling(self, level: float = LEVEL) -> tuple[float, float, float]:
        """The curve's ceiling ``a``: ``(point, low, high)``."""
        values = np.array([law.a for law in self.laws]) if self.laws else np.array([self.law.a])
        low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
        return self.law.a, float(low), float(high)

    @property
    def flattened(self) -> bool:
        """Doubling the labels there are adds less than ``STEP`` on the fitted curve."""
        return self.law.gain_if_doubled(self.labels_now) < STEP


def forecast(
    n: NDArray[np.floating],
    y: NDArray[np.floating],
    support: NDArray[np.floating] | None = None,
    labels_now: int | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Forecast | None:
    """Fit the law and ``resamples`` bootstrap refits; None when the points are too few."""
    n, y = np.asarray(n, dtype=np.float64), np.asarray(y, dtype=np.float64)
    s = np.ones(len(n)) if support is None else np.asarray(support, dtype=np.float64)
    law = fit_power_law(n, y, s)
    if law is None:
        return None
    rng = np.random.default_rng(seed)
    laws = []
    for _ in range(resamples):
        drawn = rng.integers(0, len(n), len(n))
        refit = fit_power_law(n[drawn], y[drawn], s[drawn], refine=False)
        if refit is not None:
            laws.append(refit)
    return Forecast(law, laws, int(labels_now if labels_now is not None else n.max()))
