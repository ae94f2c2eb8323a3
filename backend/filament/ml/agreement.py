"""Inter-annotator agreement on nominal labels, with intervals and defined degenerate cases.

The measures, on items that two or more annotators labeled:

- Percent agreement: per item, the share of its pairs of annotations that agree; the mean over
  items (Fleiss' P-bar). With two annotators, the share of items they agree on.
- Cohen's kappa (Cohen 1960) for two annotators: ``(p_o - p_e) / (1 - p_e)`` with the chance
  agreement ``p_e`` from each annotator's own label frequencies.
- Fleiss' kappa (Fleiss 1971) for any number of annotators; items with different numbers of
  annotations enter with their own ``n_i`` (P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1))), which
  is Fleiss' formula when every item has the same number.
- Krippendorff's alpha, nominal, any number of annotators with missing data (Krippendorff 2011,
  "Computing Krippendorff's Alpha-Reliability"): ``1 - (n - 1) (n - sum_c o_cc) /
  (n^2 - sum_c n_c^2)`` from the coincidence matrix ``o`` of the pairable values.

Multi-label: every (item, label) is a binary unit (the label chosen or not); "overall" pools the
units of all labels, per label uses that label's units alone. Single-label projects get the
same per-label view: each label against the rest.

Intervals: 95 % percentile bootstrap over items (Efron & Tibshirani 1993): an item's units and
annotations are drawn together. One set of resampling weights serves every figure of a report,
so that a subset's figure is its figure on the resampled project.

Degenerate cases, which answer ``value=None`` with a ``reason`` (never NaN):

- no item with two annotations (one annotator, or no overlap): nothing to compare;
- fewer items than the minimum support: counts only, since an interval that wide informs nobody;
- one category only (every annotation the same label, so chance agreement is 1): kappa and alpha
  are 0/0; percent agreement is still given (1.0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from filament.ml.intervals import BOOTSTRAP_RESAMPLES, LEVEL, percentile, resampling_weights

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Votes = NDArray[np.int8]

MISSING = -1
INTERVAL_METHOD = "percentile bootstrap over items"
NO_OVERLAP = "no item has annotations to compare"
ONE_CATEGORY = "every annotation has the same label: chance agreement is 1, so this is undefined"
_EPS = 1e-12


def below_support(items: int, min_support: int) -> str:
    return f"{items} items to compare; a figure needs {min_support}"


@dataclass(frozen=True)
class Estimate:
    """A figure with what it rests on: ``items`` compared and ``pairs`` of annotations. ``value``
    and the interval are None where ``reason`` says why; the interval alone is None when fewer
    than half of the resamples define the measure."""

    value: float | None
    low: float | None
    high: float | None
    items: int
    pairs: int
    reason: str | None = None


@dataclass(frozen=True)
class Measures:
    percent_agreement: Estimate
    fleiss_kappa: Estimate
    krippendorff_alpha: Estimate


@dataclass(frozen=True)
class Comparison:
    """One annotator against another (or the consensus of the others, or the model)."""

    percent_agreement: Estimate
    cohen_kappa: Estimate


@dataclass(frozen=True)
class PairAgreement(Comparison):
    a: int
    b: int


@dataclass(frozen=True)
class AnnotatorAgreement:
    annotator: int
    items: int  # items of the report this annotator labeled
    vs_consensus: Comparison  # against the strict majority of the other annotators
    vs_model: Comparison | None  # against the model's held-out prediction; None: no model


@dataclass(frozen=True)
class AgreementReport:
    items: int  # items with two or more annotations
    annotations: int
    annotators: int
    overall: Measures
    cohen_kappa: Estimate  # two annotators only; see `pairs` otherwise
    per_label: list[Measures]  # by label index
    pairs: list[PairAgreement]
    per_annotator: list[AnnotatorAgreement]
    min_support: int
    level: float = LEVEL
    interval: str = INTERVAL_METHOD
    resamples: int = BOOTSTRAP_RESAMPLES  # 0: too few items for any interval


# -- units: what is compared ------------------------------------------------------------------


@dataclass(frozen=True)
class _Units:
    """``values[u, r]``: the category annotator r gave unit u (MISSING: none); ``item[u]``: the
    item unit u belongs to (one unit per item, or one per item and label)."""

    values: Ints
    item: Ints
    k: int


def _rated(votes: Votes, multilabel: bool) -> NDArray[np.bool_]:
    """``(items, raters)``: who labeled what; a single-label annotation names one label."""
    rated: NDArray[np.bool_] = np.asarray((votes >= 0).all(axis=2))
    return rated if multilabel else rated & np.asarray((votes == 1).any(axis=2))


def _categories(votes: Votes) -> Ints:
    """Single-label votes ``(items, raters, labels)`` as a category per (item, rater)."""
    rated = _rated(votes, multilabel=False)
    return np.where(rated, votes.argmax(axis=2), MISSING).astype(np.int64)


def _binary(values: Ints, category: int) -> Ints:
    return np.where(values >= 0, (values == category).astype(np.int64), MISSING)


def _pooled(votes: Votes) -> _Units:
    """Multi-label: each (item, label) a binary unit; the units of an item stay together."""
    items, raters, labels = votes.shape
    values = votes.transpose(0, 2, 1).reshape(items * labels, raters).astype(np.int64)
    return _Units(np.where(values < 0, MISSING, values), np.repeat(np.arange(items), labels), 2)


def _counts(values: Ints, k: int) -> Floats:
    """``(units, k)``: how many annotators gave each unit each category."""
    units = len(values)
    rated = values >= 0
    flat = (np.arange(units)[:, None] * k + values)[rated]
    return np.bincount(flat, minlength=units * k).reshape(units, k).astype(np.float64)


def _by_item(item: Ints, weights: Floats, n_items: int) -> Floats:
    return np.bincount(item, weights=weights, minlength=n_items).astype(np.float64)


def _by_item_rows(item: Ints, rows: Floats, n_items: int) -> Floats:
    out = np.zeros((n_items, rows.shape[1]))
    np.add.at(out, item, rows)
    return out


# -- bootstrap --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resampling:
    """``weights[s, i]``: how often item i is drawn in resample s."""

    weights: Floats
    min_support: int

    @classmethod
    def of(cls, n_items: int, min_support: int, seed: int) -> _Resampling:
        # 1,000 resamples up to 2,000 items, fewer (never under 200) beyond: memory stays small
        # and the intervals of that many items are narrow anyway
        resamples = min(BOOTSTRAP_RESAMPLES, max(200, 2_000_000 // max(n_items, 1)))
        if n_items < max(min_support, 1):
            return cls(np.zeros((0, n_items)), min_support)
        return cls(resampling_weights(n_items, seed, resamples), min_support)


Statistic = Callable[[Floats], dict[str, Floats]]


def _estimates(
    statistic: Statistic, present: NDArray[np.bool_], pairs: int, boot: _Resampling
) -> dict[str, Estimate]:
    """Each figure of ``statistic`` (weights -> {name: one value per weight row, NaN where
    undefined}) with its interval, or its reason; ``present``: the items it rests on."""
    items = int(present.sum())
    point = statistic(np.ones((1, len(present))))
    if items == 0 or items < boot.min_support:
        reason = NO_OVERLAP if items == 0 else below_support(items, boot.min_support)
        return {name: Estimate(None, None, None, items, pairs, reason) for name in point}
    resampled = statistic(boot.weights)
    answer = {}
    for name, values in point.items():
        value = float(values[0])
        if not np.isfinite(value):
            answer[name] = Estimate(None, None, None, items, pairs, ONE_CATEGORY)
            continue
        defined = resampled[name][np.isfinite(resampled[name])]
        low, high = percentile(defined) if len(defined) * 2 >= len(boot.weights) else (None, None)
        answer[name] = Estimate(value, low, high, items, pairs)
    return answer


def _ratio(numerator: Floats, denominator: Floats) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(denominator) > _EPS, numerator / denominator, np.nan)


def _kappa(observed: Floats, chance: Floats) -> Floats:
    return _ratio(observed - chance, 1 - chance)


# -- the measures -----------------------------------------------------------------------------


def _multi_rater(units: _Units, n_items: int, boot: _Resampling) -> Measures:
    counts = _counts(units.values, units.k)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m, item = counts[pairable], m[pairable], units.item[pairable]
    same = (counts * (counts - 1)).sum(axis=1)
    per_item = {
        "units": _by_item(item, np.ones(len(m)), n_items),
        "agreement": _by_item(item, same / (m * (m - 1)), n_items),
        "values": _by_item(item, m, n_items),
        "coincident": _by_item(item, same / (m - 1), n_items),
    }
    category_counts = _by_item_rows(item, counts, n_items)
    pairs_per_item = np.zeros(n_items)
    np.maximum.at(pairs_per_item, item, m * (m - 1) / 2)

    def statistic(w: Floats) -> dict[str, Floats]:
        s = {name: w @ column for name, column in per_item.items()}
        c = w @ category_counts
        agreement = _ratio(s["agreement"], s["units"])
        shares = c / np.maximum(s["values"], 1)[:, None]
        disagreement = s["values"] ** 2 - (c**2).sum(axis=1)
        return {
            "percent_agreement": agreement,
            "fleiss_kappa": _kappa(agreement, (shares**2).sum(axis=1)),
            "krippendorff_alpha": 1
            - _ratio((s["values"] - 1) * (s["values"] - s["coincident"]), disagreement),
        }

    e = _estimates(statistic, per_item["units"] > 0, int(pairs_per_item.sum()), boot)
    return Measures(e["percent_agreement"], e["fleiss_kappa"], e["krippendorff_alpha"])


def _two_raters(
    a: Ints, b: Ints, item: Ints, k: int, n_items: int, boot: _Resampling
) -> Comparison:
    """Cohen's kappa and percent agreement of two columns of categories over the same units."""
    both = (a >= 0) & (b >= 0)
    a, b, item = a[both], b[both], item[both]
    units = _by_item(item, np.ones(len(a)), n_items)
    agree = _by_item(item, (a == b).astype(np.float64), n_items)
    eye = np.eye(k)
    first, second = _by_item_rows(item, eye[a], n_items), _by_item_rows(item, eye[b], n_items)

    def statistic(w: Floats) -> dict[str, Floats]:
        total = w @ units
        observed = _ratio(w @ agree, total)
        scale = np.maximum(total, 1)[:, None]
        chance = ((w @ first) / scale * (w @ second) / scale).sum(axis=1)
        return {"percent_agreement": observed, "cohen_kappa": _kappa(observed, chance)}

    present = units > 0
    e = _estimates(statistic, present, int(present.sum()), boot)
    return Comparison(e["percent_agreement"], e["cohen_kappa"])


def _majority_of_others(values: Ints, rater: int, k: int) -> Ints:
    """Per unit, the category most of the other annotators gave, MISSING where they tie or none
    did: leaving the annotator out keeps them from agreeing with themselves."""
    others = np.delete(values, rater, axis=1)
    counts = _counts(others, k)
    ranked = np.sort(counts, axis=1)
    runner_up = ranked[:, -2] if k > 1 else np.zeros(len(counts))
    return np.where(ranked[:, -1] > runner_up, counts.argmax(axis=1), MISSING).astype(np.int64)


# -- the report -------------------------------------------------------------------------------


def agreement_report(
    votes: Votes,
    multilabel: bool,
    model: Votes | None = None,
    min_support: int = 0,
    seed: int = 0,
) -> AgreementReport:
    """Every measure of agreement on ``votes[item, rater, label]``: 1 the rater gave the item
    that label, 0 they labeled the item without it, -1 they did not label the item (single-label
    votes are one-hot). ``model[item, label]``: the model's held-out call in the same coding
    (-1: no prediction for the item). Items with fewer than two raters are not compared. Below
    ``min_support`` items a figure gives its counts only."""
    votes = np.asarray(votes, dtype=np.int8)
    n_items, n_raters, n_labels = votes.shape
    rated = _rated(votes, multilabel)
    keep = rated.sum(axis=1) >= 2
    votes, rated = votes[keep], rated[keep]
    model = None if model is None else np.asarray(model, dtype=np.int8)[keep]
    n_items = len(votes)
    boot = _Resampling.of(n_items, min_support, seed)
    if multilabel:
        overall = _pooled(votes)
        labels = [
            _Units(np.where(votes[:, :, j] < 0, MISSING, votes[:, :, j]).astype(np.int64),
                   np.arange(n_items), 2)
            for j in range(n_labels)
        ]  # fmt: skip
        model_values = None if model is None else _pooled(model[:, None, :]).values[:, 0]
    else:
        categories = _categories(votes)
        overall = _Units(categories, np.arange(n_items), n_labels)
        labels = [_Units(_binary(categories, j), overall.item, 2) for j in range(n_labels)]
        model_values = None if model is None else _categories(model[:, None, :])[:, 0]
    active = [r for r in range(n_raters) if rated[:, r].any()]

    def compare(a: Ints, b: Ints) -> Comparison:
        return _two_raters(a, b, overall.item, overall.k, n_items, boot)

    pairs = [
        PairAgreement(**vars(compare(overall.values[:, r], overall.values[:, s])), a=r, b=s)
        for i, r in enumerate(active)
        for s in active[i + 1 :]
        if (rated[:, r] & rated[:, s]).any()
    ]
    per_annotator = [
        AnnotatorAgreement(
            annotator=r,
            items=int(rated[:, r].sum()),
            vs_consensus=compare(
                overall.values[:, r], _majority_of_others(overall.values, r, overall.k)
            ),
            vs_model=None if model_values is None else compare(overall.values[:, r], model_values),
        )
        for r in active
    ]
    if len(active) == 2 and pairs:
        cohen = pairs[0].cohen_kappa
    else:
        reason = f"Cohen's kappa compares two annotators; these items have {len(active)}"
        cohen = Estimate(None, None, None, n_items, 0, reason + " (see the pairs)")
    return AgreementReport(
        items=n_items,
        annotations=int(rated.sum()),
        annotators=len(active),
        overall=_multi_rater(overall, n_items, boot),
        cohen_kappa=cohen,
        per_label=[_multi_rater(units, n_items, boot) for units in labels],
        pairs=pairs,
        per_annotator=per_annotator,
        min_support=min_support,
        resamples=len(boot.weights),
    )
