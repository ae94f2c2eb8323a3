"""Agreement measures against published and hand-computed values, and their degenerate cases."""

import json
from dataclasses import asdict

import numpy as np
import pytest
from filament.ml.agreement import NO_OVERLAP, ONE_CATEGORY, agreement_report, below_support
from sklearn.metrics import cohen_kappa_score


def one_hot(table: list[list[int | None]], n_labels: int) -> np.ndarray:
    """``table[item][rater]``: a category, or None where the rater did not label the item."""
    votes = np.full((len(table), len(table[0]), n_labels), -1, dtype=np.int8)
    for i, row in enumerate(table):
        for r, category in enumerate(row):
            if category is not None:
                votes[i, r] = 0
                votes[i, r, category] = 1
    return votes


def krippendorff_example() -> list[list[int | None]]:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
    12 units, values 1-5 (here 0-4), missing data."""
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    return [[None if v is None else v - 1 for v in unit] for unit in zip(*observers, strict=True)]


def test_krippendorff_worked_example_alpha_is_0743() -> None:
    report = agreement_report(one_hot(krippendorff_example(), 5), multilabel=False)
    alpha = report.overall.krippendorff_alpha
    assert alpha.value == pytest.approx(0.743, abs=5e-4)  # the paper: 0.743
    # unit 12 has a single value: not pairable, so 11 items
    assert report.items == 11 and alpha.items == 11
    assert report.annotations == 40 and report.annotators == 4
    # pairs of annotations: units 2-9 have 4 values (6 pairs), 1 and 10 have 3, 11 has 2
    assert alpha.pairs == 8 * 6 + 2 * 3 + 1
    assert alpha.low is not None and alpha.high is not None
    assert alpha.low <= alpha.value <= alpha.high


def test_fleiss_worked_example_kappa_is_0210() -> None:
    """Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa"): 14 raters, 10 subjects, 5
    categories; P-bar = 0.378, P_e = 0.213, kappa = 0.210."""
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    table = [[j for j, n in enumerate(row) for _ in range(n)] for row in counts]
    report = agreement_report(one_hot(table, 5), multilabel=False)  # type: ignore[arg-type]
    assert report.overall.fleiss_kappa.value == pytest.approx(0.210, abs=5e-4)
    assert report.overall.percent_agreement.value == pytest.approx(0.378, abs=5e-4)
    assert report.overall.fleiss_kappa.pairs == 10 * 91


def test_cohen_kappa_of_a_2x2_table_by_hand() -> None:
    """Both yes 20, A yes / B no 5, A no / B yes 10, both no 15 (50 items):
    p_o = 35/50 = 0.7; p_e = 0.5 x 0.6 + 0.5 x 0.4 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4."""
    table = [[1, 1]] * 20 + [[1, 0]] * 5 + [[0, 1]] * 10 + [[0, 0]] * 15
    report = agreement_report(one_hot(table, 2), multilabel=False)  # type: ignore[arg-type]
    assert report.cohen_kappa.value == pytest.approx(0.4)
    assert report.overall.percent_agreement.value == pytest.approx(0.7)
    assert report.cohen_kappa.items == report.cohen_kappa.pairs == 50
    (pair,) = report.pairs
    assert (pair.a, pair.b, pair.cohen_kappa.value) == (0, 1, pytest.approx(0.4))
    # with two annotators and no missing data, Fleiss' kappa is Scott's pi:
    # p_e = 0.55^2 + 0.45^2 = 0.505, pi = (0.7 - 0.505) / 0.495
    assert report.overall.fleiss_kappa.value == pytest.approx(0.195 / 0.495)
    # and alpha is pi corrected for the sample size: 1 - (2n - 1)/(2n) (1 - pi)
    alpha = 1 - (99 / 100) * (1 - 0.195 / 0.495)
    assert report.overall.krippendorff_alpha.value == pytest.approx(alpha)


def test_cohen_kappa_agrees_with_scikit_learn_on_random_labels() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 4, 200))
    report = agreement_report(one_hot(np.stack([a, b], 1).tolist(), 4), multilabel=False)
    assert report.cohen_kappa.value == pytest.approx(cohen_kappa_score(a, b))


def test_intervals_shrink_with_support_and_contain_the_estimate() -> None:
    rng = np.random.default_rng(0)

    def width(n: int) -> float:
        a = rng.integers(0, 3, n)
        b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 3, n))
        kappa = agreement_report(one_hot(np.stack([a, b], 1).tolist(), 3), False).cohen_kappa
        assert kappa.low is not None and kappa.high is not None and kappa.value is not None
        assert kappa.low <= kappa.value <= kappa.high
        return kappa.high - kappa.low

    assert width(1000) < width(50)


# -- degenerate cases --------------------------------------------------------------------------


def test_one_category_kappa_and_alpha_are_undefined_not_nan() -> None:
    report = agreement_report(one_hot([[1, 1, 1]] * 40, 3), multilabel=False)
    assert report.overall.percent_agreement.value == 1.0
    assert report.overall.fleiss_kappa.value is None
    assert report.overall.fleiss_kappa.reason == ONE_CATEGORY
    assert report.overall.krippendorff_alpha.reason == ONE_CATEGORY
    assert report.cohen_kappa.reason is not None  # three annotators: no Cohen's kappa overall
    assert all(p.cohen_kappa.reason == ONE_CATEGORY for p in report.pairs)
    assert all(p.percent_agreement.value == 1.0 for p in report.pairs)
    # strict JSON: no NaN anywhere
    json.dumps(asdict(report), allow_nan=False)


def test_all_agree_with_more_than_one_category_is_perfect() -> None:
    table = [[c, c] for c in [0, 1, 2] * 10]
    report = agreement_report(one_hot(table, 3), multilabel=False)
    assert report.cohen_kappa.value == pytest.approx(1.0)
    assert report.overall.fleiss_kappa.value == pytest.approx(1.0)
    assert report.overall.krippendorff_alpha.value == pytest.approx(1.0)
    assert report.overall.percent_agreement.value == 1.0
    assert report.overall.krippendorff_alpha.high == pytest.approx(1.0)


def test_one_rater_has_nothing_to_compare() -> None:
    report = agreement_report(one_hot([[0, None], [1, None], [1, None]], 2), multilabel=False)
    assert report.items == 0 and report.annotators == 0 and not report.pairs
    for estimate in asdict(report.overall).values():
        assert estimate["value"] is None and estimate["reason"] == NO_OVERLAP
        assert estimate["items"] == 0
    json.dumps(asdict(report), allow_nan=False)


def test_an_empty_project_has_nothing_to_compare() -> None:
    report = agreement_report(np.zeros((0, 0, 3), np.int8), multilabel=True)
    assert report.items == 0 and report.overall.krippendorff_alpha.reason == NO_OVERLAP
    assert len(report.per_label) == 3


def test_below_the_minimum_support_only_counts() -> None:
    table = [[0, 0], [1, 1], [1, 0]]
    report = agreement_report(one_hot(table, 2), multilabel=False, min_support=30)
    kappa = report.cohen_kappa
    assert (kappa.value, kappa.low, kappa.high) == (None, None, None)
    assert kappa.reason == below_support(3, 30) and kappa.items == 3
    assert report.overall.percent_agreement.value is None
    assert report.resamples == 0


def test_a_single_item_overlap_still_has_its_figures() -> None:
    # one item: every resample is that item, so the interval is the point
    report = agreement_report(one_hot([[0, 1]], 2), multilabel=False)
    assert report.overall.percent_agreement.value == 0.0
    assert report.overall.krippendorff_alpha.value is not None


# -- per label, multi-label, consensus, model --------------------------------------------------


def test_multilabel_treats_each_label_as_a_binary_item() -> None:
    # label 0: the two always agree; label 1: they agree on 3 of 4; label 2: never chosen
    a = [[1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]
    b = [[1, 1, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]]
    votes = np.stack([np.array(a), np.array(b)], axis=1).astype(np.int8)
    report = agreement_report(votes, multilabel=True)
    first, second, never = report.per_label
    assert first.krippendorff_alpha.value == pytest.approx(1.0)
    assert second.percent_agreement.value == pytest.approx(0.75)
    assert never.percent_agreement.value == 1.0 and never.fleiss_kappa.reason == ONE_CATEGORY
    # overall pools the 12 (item, label) units, resampled by item
    assert report.overall.percent_agreement.value == pytest.approx(11 / 12)
    assert report.overall.percent_agreement.items == 4
    # label 1 by hand: chosen 5 times in 8 annotations; p_o = 3/4, p_e = (5/8)^2 + (3/8)^2
    assert second.fleiss_kappa.value == pytest.approx((48 / 64 - 34 / 64) / (30 / 64))
    assert report.pairs[0].percent_agreement.value == pytest.approx(11 / 12)
    # an empty label set is an annotation (nothing applies)
    assert report.annotations == 8


def test_single_label_per_label_is_one_against_the_rest() -> None:
    table = [[0, 0], [1, 1], [2, 1], [2, 2]] * 10
    report = agreement_report(one_hot(table, 3), multilabel=False)
    assert report.per_label[0].krippendorff_alpha.value == pytest.approx(1.0)
    assert report.per_label[1].percent_agreement.value == pytest.approx(0.75)


def test_each_annotator_against_the_others_majority_and_the_model() -> None:
    # raters 0 and 1 always agree; rater 2 always says 2; the model agrees with rater 0
    table = [[c, c, 2] for c in [0, 1] * 20]
    votes = one_hot(table, 3)
    model = one_hot([[c] for c in [0, 1] * 20], 3)[:, 0, :]
    report = agreement_report(votes, multilabel=False, model=model)
    first, _, third = report.per_annotator
    # rater 0's others are raters 1 (agrees) and 2 (disagrees): a tie, so no consensus
    assert first.vs_consensus.percent_agreement.reason == NO_OVERLAP
    assert third.vs_consensus.percent_agreement.value == 0.0
    assert third.vs_consensus.percent_agreement.items == 40
    assert first.vs_model is not None and first.vs_model.cohen_kappa.value == pytest.approx(1.0)
    assert third.vs_model is not None and third.vs_model.percent_agreement.value == 0.0
    assert [(p.a, p.b) for p in report.pairs] == [(0, 1), (0, 2), (1, 2)]
    assert report.pairs[0].cohen_kappa.value == pytest.approx(1.0)


def test_a_model_without_predictions_on_some_items_is_compared_on_the_rest() -> None:
    table = [[0, 0], [1, 1], [0, 1], [1, 0]]
    model = one_hot([[0], [1], [None], [None]], 2)[:, 0, :]
    report = agreement_report(one_hot(table, 2), multilabel=False, model=model)
    vs_model = report.per_annotator[0].vs_model
    assert vs_model is not None and vs_model.percent_agreement.items == 2
    assert vs_model.percent_agreement.value == 1.0


def test_the_same_seed_gives_the_same_intervals() -> None:
    votes = one_hot(krippendorff_example(), 5)
    assert asdict(agreement_report(votes, False, seed=1)) == asdict(
        agreement_report(votes, False, seed=1)
    )
