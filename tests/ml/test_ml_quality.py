"""Quality tools on constructed examples: confident learning, neighbours and near-duplicate
groups, the inverse power law, the stabilising-predictions stop rule."""

import numpy as np
import pytest
from filament.ml import similarity
from filament.ml.forecast import PowerLaw, fit_power_law, forecast
from filament.ml.heads import train_head
from filament.ml.label_errors import label_issues, multilabel_issues, single_label_issues
from filament.ml.stopping import cohen_kappa, predictions_kappa, stop_rule

from tests.datasets import blobs

# -- confident learning ---------------------------------------------------------------------


def test_thresholds_are_mean_self_confidence_and_the_off_diagonal_is_flagged():
    probs = np.array(
        [
            [0.9, 0.1, 0.0],  # labeled 0, sure of 0
            [0.7, 0.3, 0.0],  # labeled 0
            [0.2, 0.8, 0.0],  # labeled 1
            [0.4, 0.6, 0.0],  # labeled 1
            [0.75, 0.25, 0.0],  # labeled 1, but the model is confident it is 0: the error
            [0.45, 0.55, 0.0],  # labeled 0: leans to 1, below class 1's threshold
        ]
    )
    given = np.array([0, 0, 1, 1, 1, 0])
    issues = single_label_issues(probs, given)
    # t_0 = mean(.9, .7, .45) = .6833; t_1 = mean(.8, .6, .25) = .55; class 2: nobody
    np.testing.assert_allclose(issues.thresholds[:2], [(0.9 + 0.7 + 0.45) / 3, 0.55])
    assert issues.thresholds[2] == np.inf
    assert issues.flagged.tolist() == [False, False, False, False, True, True]
    assert issues.likely[4] == 0 and issues.likely[5] == 1
    # ranked by self-confidence: p(given) .25 (score .75) before .45 (score .55)
    assert issues.ranking().tolist() == [4, 5]
    np.testing.assert_allclose(issues.score, [0.1, 0.3, 0.2, 0.4, 0.75, 0.55])


def test_below_its_threshold_a_disagreement_is_not_flagged():
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.05, 0.95], [0.1, 0.9], [0.4, 0.6]])
    issues = single_label_issues(probs, np.array([0, 0, 1, 1, 0]))
    # p_1 = .6 is above p_0 but below t_1 = .925: a hard item, not a confident error
    assert not issues.flagged.any()
    assert issues.score[4] == pytest.approx(0.6)


def test_rows_without_a_prediction_are_skipped():
    probs = np.array([[0.9, 0.1], [np.nan, np.nan], [0.1, 0.9], [0.95, 0.05]])
    issues = single_label_issues(probs, np.array([0, 1, 1, 1]))
    assert np.isnan(issues.score[1]) and not issues.flagged[1]
    assert issues.flagged.tolist() == [False, False, False, True]


def test_a_planted_flipped_label_is_found_from_out_of_fold_predictions():
    X, y = blobs(300, 3, dim=16, seed=4, spread=0.8)
    noisy = y.copy()
    flipped = np.array([7, 51, 123, 200, 288])
    noisy[flipped] = (y[flipped] + 1) % 3
    fit = train_head(X, noisy, False, 3)
    issues = label_issues(fit.cv_probs, noisy, multilabel=False)
    top = issues.ranking()[: len(flipped)]
    assert set(top.tolist()) == set(flipped.tolist())
    assert (issues.likely[flipped] == y[flipped]).all()


def test_multilabel_flags_the_disputed_label_only():
    probs = np.array(
        [
            [0.9, 0.1],
            [0.8, 0.2],
            [0.1, 0.9],
            [0.2, 0.85],
            [0.05, 0.1],  # label 0 given, the model is sure it is absent
        ]
    )
    given = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]])
    issues = multilabel_issues(probs, given)
    assert issues.flagged.tolist() == [False, False, False, False, True]
    assert issues.flagged_labels is not None
    assert issues.flagged_labels[4].tolist() == [True, False]
    assert issues.likely[4] == 0
    assert issues.score[4] == pytest.approx(0.95)  # 1 - p(label 0 present)
    assert issues.thresholds.shape == (2, 2)


# -- neighbours and near-duplicates ---------------------------------------------------------


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16)


def test_nearest_matches_brute_force():
    matrix = _unit_rows(100, 8, seed=1)
    query = matrix[13].astype(np.float32) * 3  # any scale: the query is normalised
    rows, sims = similarity.nearest(matrix, query, 5, exclude=np.array([13]))
    exact = matrix.astype(np.float32) @ (query / np.linalg.norm(query))
    exact[13] = -np.inf
    expected = np.argsort(-exact, kind="stable")[:5]
    assert rows.tolist() == expected.tolist()
    np.testing.assert_allclose(sims, exact[expected], atol=1e-3)  # float16 similarities
    assert 13 not in rows and (np.diff(sims) <= 0).all()


def test_nearest_returns_at_most_what_there_is():
    matrix = _unit_rows(3, 4, seed=2)
    rows, _ = similarity.nearest(matrix, matrix[0], 10, exclude=np.array([0]))
    assert sorted(rows.tolist()) == [1, 2]
    assert similarity.nearest(matrix[:0], matrix[0], 3)[0].size == 0


def test_identical_and_near_vectors_group_and_others_stay_apart(monkeypatch):
    monkeypatch.setattr(similarity, "BLOCK", 5)  # pairs across blocks
    rng = np.random.default_rng(3)
    matrix = _unit_rows(30, 16, seed=3).astype(np.float32)
    matrix[10] = matrix[2]  # identical
    matrix[20] = matrix[2] + 0.02 * rng.standard_normal(16)  # near
    matrix[25] = matrix[7]
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    stored = matrix.astype(np.float16)
    # as the embed job does: each new chunk against everything up to it
    pairs = [
        similarity.near_duplicate_pairs(stored[:end], np.arange(start, end), 0.98)
        for start, end in [(0, 12), (12, 22), (22, 30)]
    ]
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    found = {tuple(sorted(pair)) for pair in zip(a.tolist(), b.tolist(), strict=True)}
    assert found == {(2, 10), (2, 20), (10, 20), (7, 25)}
    assert len(a) == len(found)  # each pair once
    ids, group = similarity.groups(a + 100, b + 100)  # any ids
    assert dict(zip(ids.tolist(), group.tolist(), strict=True)) == {
        102: 102,
        110: 102,
        120: 102,
        107: 107,
        125: 107,
    }


# -- forecast -------------------------------------------------------------------------------


def test_power_law_fit_recovers_the_parameters_of_a_synthetic_curve():
    truth = PowerLaw(0.92, 0.9, 0.55)
    n = np.arange(10, 310, 10, dtype=np.float64)
    law = fit_power_law(n, truth.at(n), np.full(len(n), 100.0))
    assert law is not None
    assert law.a == pytest.approx(0.92, abs=0.005)
    assert law.c == pytest.approx(0.55, abs=0.03)
    assert law.b == pytest.approx(0.9, rel=0.05)
    assert law.labels_for(0.9) == pytest.approx(truth.labels_for(0.9), rel=0.05)
    assert law.labels_for(0.95) == np.inf


def test_forecast_interval_brackets_the_truth_on_a_noisy_curve():
    truth = PowerLaw(0.9, 0.8, 0.5)
    n = np.arange(20, 420, 20, dtype=np.float64)
    support = np.full(len(n), 400.0)
    rng = np.random.default_rng(0)
    y = truth.at(n) + rng.normal(0, 0.004, len(n))
    made = forecast(n, y, support, labels_now=400, seed=1)
    assert made is not None and len(made.laws) > 200
    point, low, high = made.labels_needed(0.87)
    assert low <= truth.labels_for(0.87) <= high and low <= point <= high
    assert not made.flattened
    ceiling, c_low, c_high = made.ceiling()
    assert c_low <= 0.9 <= c_high and c_low <= ceiling <= c_high


def test_a_target_some_resamples_never_reach_has_an_open_upper_end():
    truth = PowerLaw(0.9, 0.8, 0.5)
    n = np.arange(20, 220, 20, dtype=np.float64)
    y = truth.at(n) + np.random.default_rng(2).normal(0, 0.01, len(n))
    made = forecast(n, y, np.full(len(n), 200.0), labels_now=200, seed=3)
    assert made is not None
    point, low, high = made.labels_needed(made.law.a - 0.002)  # just below the fitted ceiling
    assert np.isfinite(point) and np.isfinite(low) and high == np.inf  # never NaN


def test_flattened_means_one_more_point_takes_more_than_doubling():
    law = PowerLaw(0.9, 0.8, 0.5)
    assert law.gain_if_doubled(100) == pytest.approx(0.8 * (100**-0.5 - 200**-0.5))
    # the gain of doubling falls below a point between 400 and 800 labels (at 549)
    n = np.arange(20, 820, 20, dtype=np.float64)
    early = forecast(n[n <= 400], law.at(n[n <= 400]), labels_now=400, resamples=20)
    late = forecast(n, law.at(n), labels_now=800, resamples=20)
    assert early is not None and late is not None
    assert not early.flattened and late.flattened


def test_a_flat_curve_is_called_flattened_and_too_few_points_give_nothing():
    n = np.array([50, 100, 150, 200, 250, 300], dtype=np.float64)
    made = forecast(n, np.array([0.80, 0.86, 0.875, 0.88, 0.881, 0.882]), labels_now=300)
    assert made is not None and made.flattened
    assert forecast(n[:3], np.array([0.7, 0.8, 0.85])) is None


# -- stop rule ------------------------------------------------------------------------------


def test_kappa_of_predictions():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert cohen_kappa(a, a) == 1.0
    assert cohen_kappa(np.zeros(4, int), np.zeros(4, int)) == 1.0  # both constant and equal
    b = np.array([0, 0, 1, 1, 2, 0])
    # p_o = 5/6, p_e = (2*3 + 2*2 + 2*1) / 36 = 1/3
    assert cohen_kappa(a, b) == pytest.approx((5 / 6 - 1 / 3) / (2 / 3))
    before = np.array([[0.9, 0.2], [0.1, 0.7], [0.6, 0.6], [0.2, 0.1]])
    after = np.array([[0.8, 0.3], [0.2, 0.9], [0.7, 0.4], [0.1, 0.2]])
    # label 0 the same calls (kappa 1); label 1: [0,1,1,0] vs [0,1,0,0], kappa 0.5
    assert predictions_kappa(before, after, multilabel=True) == pytest.approx(0.75)


def test_stop_rule_fires_on_a_converged_sequence_only():
    converging = [None, 0.62, 0.85, 0.97, 0.992, 0.995, 0.999, 1.0]
    rule = stop_rule(converging)
    assert rule.fired_at == 6 and rule.holds
    wobbling = [0.995, 0.999, 0.97, 0.995, 0.999, None, 0.999]
    rule = stop_rule(wobbling)
    assert rule.fired_at is None and not rule.holds
    dipped = stop_rule([0.995, 0.996, 0.999, 0.98])
    assert dipped.fired_at == 2 and not dipped.holds
