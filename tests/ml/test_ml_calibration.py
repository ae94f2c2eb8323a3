"""Calibration: thresholds at a target precision on constructed out-of-fold predictions."""

import numpy as np
import pytest
from filament.ml.calibration import (
    Calibration,
    calibrate_multilabel,
    calibrate_single_label,
    calibrate_threshold,
)


def test_known_threshold() -> None:
    # 10 items at 0.9-0.99 all correct, then a wrong one at 0.85, then mixed below.
    confidence = np.r_[np.linspace(0.99, 0.90, 10), 0.85, 0.80, 0.75, 0.70]
    correct = np.r_[np.ones(10, bool), False, True, False, True]
    cal = calibrate_threshold(confidence, correct, target_precision=0.9)
    # >= 0.85: 10/11 = 0.909 (ok); >= 0.80: 11/12 = 0.917 (ok); >= 0.75: 11/13 = 0.846 (not)
    assert cal == Calibration(threshold=0.80, precision=pytest.approx(11 / 12), support=12)
    strict = calibrate_threshold(confidence, correct, target_precision=0.95)
    assert strict.threshold == pytest.approx(0.90) and strict.support == 10


def test_min_support() -> None:
    confidence = np.array([0.99, 0.98, 0.97, 0.5, 0.4])
    correct = np.array([True, True, True, False, False])
    assert calibrate_threshold(confidence, correct, 0.9, min_support=3).threshold == 0.97
    assert calibrate_threshold(confidence, correct, 0.9, min_support=4).threshold is None


def test_unreachable_and_empty() -> None:
    cal = calibrate_threshold(np.linspace(1, 0, 20), np.zeros(20, bool), 0.97)
    assert cal.threshold is None and cal.precision is None and cal.support == 20
    assert calibrate_threshold(np.array([]), np.array([]), 0.97) == Calibration(None, None, 0)


def test_ties_are_accepted_together() -> None:
    confidence = np.array([0.9] * 6 + [0.8])
    correct = np.array([True] * 5 + [False, True])
    # the cut cannot fall inside the 0.9 tie: 5/6 < 0.9 there, 6/7 too
    assert calibrate_threshold(confidence, correct, 0.9).threshold is None


def test_single_label_helper_ignores_missing_rows() -> None:
    probs = np.array([[0.97, 0.03]] * 8 + [[0.6, 0.4]] * 2 + [[np.nan, np.nan]] * 3)
    y = np.array([0] * 8 + [1] * 2 + [0] * 3)
    cal = calibrate_single_label(probs, y, target=0.95)
    assert cal.threshold == pytest.approx(0.97) and cal.support == 8 and cal.precision == 1.0


def test_multilabel_helper_one_per_label() -> None:
    p = np.r_[np.full(10, 0.95), np.full(10, 0.05), np.full(4, 0.55)]
    truth = np.r_[np.ones(10), np.zeros(10), np.zeros(4)].astype(int)
    probs = np.c_[p, np.full(24, 0.01)]
    Y = np.c_[truth, np.zeros(24, int)]  # label 1 never present: no evidence for a threshold
    first, second = calibrate_multilabel(probs, Y, target=0.97)
    assert first.threshold == pytest.approx(0.95) and first.support == 20
    assert second == Calibration(None, None, 0)
