"""Calibration: thresholds whose precision lower bound meets the target, on constructed
held-out predictions (known thresholds, and a perfectly calibrated toy where the promise is
checked on fresh data)."""

import numpy as np
import pytest
from filament.ml.calibration import (
    Calibration,
    calibrate_multilabel,
    calibrate_single_label,
    calibrate_threshold,
    expected_wrong,
)
from scipy.stats import binomtest


def _lowest_passing_threshold(confidence, correct, target):
    """Brute force, independent of the implementation: try every cut, keep the lowest whose
    exact one-sided 95 % bound (the low end of a two-sided 90 % Clopper-Pearson) passes."""
    best = None
    for t in sorted(set(confidence), reverse=True):
        accepted = confidence >= t
        k, n = int(correct[accepted].sum()), int(accepted.sum())
        if binomtest(k, n).proportion_ci(0.90, method="exact").low >= target:
            best = t
    return best


def test_known_threshold_matches_brute_force() -> None:
    confidence = np.linspace(0.999, 0.5, 300)
    correct = np.r_[np.ones(120, bool), np.arange(180) % 3 != 0]
    for target in (0.9, 0.95, 0.97):
        cal = calibrate_threshold(confidence, correct, target)
        expected = _lowest_passing_threshold(confidence, correct, target)
        assert cal.threshold == pytest.approx(expected)
        assert cal.lower_bound >= target and cal.items == 300
        assert cal.precision == pytest.approx(correct[confidence >= cal.threshold].mean())
        assert cal.lower_bound <= cal.best_bound
    # 0.95: the 120 all-correct items pass (0.05 ** (1 / 120) = 0.9753); errors then pull it down
    assert calibrate_threshold(confidence, correct, 0.95).support >= 120


def test_point_estimate_of_ten_correct_items_is_no_promise() -> None:
    # the old rule offered suggestions at "100 %" on 10 items; the bound is 0.74
    confidence = np.r_[np.linspace(0.99, 0.9, 10), np.linspace(0.8, 0.5, 20)]
    correct = np.r_[np.ones(10, bool), np.arange(20) % 2 == 0]
    cal = calibrate_threshold(confidence, correct, 0.97)
    assert cal == Calibration(None, None, 30, None, 30, cal.best_bound)
    # the most these labels back: the eleven surest, all right (the 11th is the first of the rest)
    assert cal.best_bound == pytest.approx(0.05 ** (1 / 11))


def test_perfectly_calibrated_toy_keeps_the_promise() -> None:
    """Confidence c ~ U(0.5, 1) and P(correct | c) = c: the true precision above t is
    (1 + t) / 2. Over many calibration draws, the chosen threshold's true precision meets the
    target in at least 90 % of them (95 % nominal for one threshold; the search over many
    costs a little)."""
    rng = np.random.default_rng(7)
    target, held = 0.9, 0
    for _ in range(300):
        c = rng.uniform(0.5, 1.0, 1500)
        cal = calibrate_threshold(c, rng.random(1500) < c, target)
        assert cal.threshold is not None
        held += (1 + cal.threshold) / 2 >= target
    assert held / 300 >= 0.90


def test_min_support_unreachable_and_empty() -> None:
    # 98 items, all correct: short of the 99 a 97 % promise needs, enough for 96 %
    confidence, correct = np.linspace(1, 0.5, 98), np.ones(98, bool)
    short = calibrate_threshold(confidence, correct, 0.97)
    assert short.threshold is None and short.best_bound == pytest.approx(0.05 ** (1 / 98))
    assert calibrate_threshold(confidence, correct, 0.96).threshold == 0.5
    assert calibrate_threshold(confidence, correct, 0.9, min_support=99) == (
        Calibration(None, None, 98, None, 98)
    )
    assert calibrate_threshold(np.array([]), np.array([]), 0.97) == Calibration(None, None, 0)


def test_ties_are_accepted_together() -> None:
    confidence = np.array([0.9] * 30 + [0.8])
    correct = np.array([True] * 29 + [False, True])
    # inside the 0.9 tie 29 correct items would pass (0.05 ** (1 / 29) = 0.902), but the cut
    # cannot fall there: 29/30 and 30/31 both bound below 0.9
    assert calibrate_threshold(confidence, correct, 0.9).threshold is None


def test_single_label_helper_ignores_missing_rows() -> None:
    probs = np.array([[0.97, 0.03]] * 80 + [[0.6, 0.4]] * 20 + [[np.nan, np.nan]] * 3)
    y = np.array([0] * 80 + [1] * 20 + [0] * 3)
    cal = calibrate_single_label(probs, y, target=0.95)
    assert cal.threshold == pytest.approx(0.97) and cal.support == 80 and cal.precision == 1.0
    assert cal.items == 100


def test_multilabel_helper_one_per_label() -> None:
    p = np.r_[np.full(60, 0.95), np.full(60, 0.05), np.full(4, 0.55)]
    truth = np.r_[np.ones(60), np.zeros(60), np.zeros(4)].astype(int)
    probs = np.c_[p, np.full(124, 0.01)]
    Y = np.c_[truth, np.zeros(124, int)]  # label 1 never present: no evidence for a threshold
    first, second = calibrate_multilabel(probs, Y, target=0.97)
    assert first.threshold == pytest.approx(0.95) and first.support == 120
    assert second == Calibration(None, None, 0, None, 124)


def test_expected_wrong() -> None:
    assert expected_wrong(60, [0.97]) == pytest.approx(1.8)  # "about 2 of these 60"
    assert expected_wrong(10, [0.5, 0.4]) == 10.0  # capped: an item is wrong at most once
