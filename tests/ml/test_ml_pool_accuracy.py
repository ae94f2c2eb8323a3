"""The pool-wide accuracy estimate: known values, and toys where the truth is known (a perfectly
calibrated model, and one whose queue labels are harder than the pool at the same confidence)."""

import numpy as np
import pytest
from filament.ml.intervals import wilson
from filament.ml.pool_accuracy import (
    MIN_DESIGN_EFFECT,
    CalibrationMap,
    Held,
    fit_map,
    pool_accuracy,
    prediction_powered,
    single_label_pool_accuracy,
)


def test_prediction_powered_known_values() -> None:
    # g over the population averages 0.8; the rectifier (c - g) over the audit is
    # [0.1, 0.1, 0.5, -0.5], mean 0.05, variance 0.1275, against p (1 - p) = 0.1875
    g_rest = np.array([0.7, 0.9])
    result = prediction_powered(g_rest, np.array([0.9, 0.9, 0.5, 0.5]), np.array([1, 1, 1, 0]))
    assert result["value"] == pytest.approx(0.85)
    assert result["design_effect"] == pytest.approx(0.68)
    effective = 4 / 0.68
    assert (result["low"], result["high"]) == pytest.approx(wilson(0.85 * effective, effective))


def test_all_right_audit_claims_no_gain_and_small_samples_keep_the_floor() -> None:
    # no spread among the audit labels: design effect 1, the plain Wilson interval's width
    result = prediction_powered(np.full(50, 0.9), np.full(10, 0.9), np.ones(10))
    assert result["design_effect"] == 1.0
    assert (result["low"], result["high"]) == pytest.approx(wilson(result["value"] * 10, 10))
    # a rectifier with almost no variance: at most two audit labels' worth per label
    g = np.array([0.999, 0.999, 0.001, 0.001])
    result = prediction_powered(np.full(50, 0.5), g, np.array([1, 1, 0, 0]))
    assert result["design_effect"] == MIN_DESIGN_EFFECT


def test_fit_map_recovers_a_known_calibration() -> None:
    rng = np.random.default_rng(0)
    truth = CalibrationMap(slope=2.0, intercept=0.5)
    confidence = rng.uniform(0.3, 0.99, 5000)
    correct = rng.random(5000) < truth(confidence)
    fitted = fit_map(Held.of(confidence, correct))
    assert fitted.slope == pytest.approx(2.0, abs=0.15)
    assert fitted.intercept == pytest.approx(0.5, abs=0.15)
    # too few labels to fit on: the raw confidence is the map; NaN confidences are dropped
    assert fit_map(Held.of(np.array([0.9, np.nan]), np.array([True, False]))) == CalibrationMap()


def test_pool_accuracy_counts_the_queue_labels_exactly() -> None:
    queue = Held.of(np.full(40, 0.6), np.r_[np.ones(30), np.zeros(10)])  # 30 of 40 right
    audit = Held.of(np.full(10, 0.9), np.r_[np.ones(9), np.zeros(1)])
    rest = np.full(50, 0.9)  # the unlabeled items: rest = these 50 + the 10 audit items
    result = pool_accuracy(queue, audit, rest)
    assert result is not None
    g = fit_map(queue)
    part = prediction_powered(g(np.full(60, 0.9)), g(audit.confidence), audit.correct)
    assert result["value"] == pytest.approx((30 + 60 * part["value"]) / 100)
    assert result["low"] == pytest.approx((30 + 60 * part["low"]) / 100)
    assert result["high"] == pytest.approx((30 + 60 * part["high"]) / 100)
    assert (result["audit_labels"], result["queue_labels"], result["pool_items"]) == (10, 40, 100)
    assert result["method"] == "prediction-powered"
    assert pool_accuracy(queue, audit, rest, min_support=11) is None
    assert pool_accuracy(queue, Held.of(np.zeros(0), np.zeros(0)), rest) is None


def _world(rng: np.random.Generator, n_pool: int, queue_harder: float) -> tuple:
    """A pool whose model is perfectly calibrated: most items sure and nearly always right,
    a third unsure. The queue takes 300 of the unsure; with ``queue_harder`` its items are that
    much less often right than their confidence says (as the queue's are)."""
    sure = rng.random(n_pool) < 0.65
    confidence = np.where(sure, rng.uniform(0.95, 1.0, n_pool), rng.uniform(0.45, 0.85, n_pool))
    queue = rng.choice(np.flatnonzero(~sure), 300, replace=False)
    p_right = confidence.copy()
    p_right[queue] = np.clip(p_right[queue] - queue_harder, 0, 1)
    correct = rng.random(n_pool) < p_right
    return confidence, correct, queue


@pytest.mark.parametrize("queue_harder", [0.0, 0.2])
def test_interval_covers_the_pool_accuracy_at_the_stated_rate(queue_harder: float) -> None:
    """Over 300 worlds and audits of 40 random items: the 95 % interval holds the pool's true
    accuracy at about the stated rate, whether or not the queue's labels calibrate the map
    for the rest of the pool (the rectifier removes the bias the map alone would keep); with a
    calibrated map it is narrower than Wilson's on the audit labels alone."""
    rng = np.random.default_rng(7)
    inside, widths, wilson_widths, map_errors, errors = 0, [], [], [], []
    for _ in range(300):
        confidence, correct, queue = _world(rng, 3000, queue_harder)
        rest = np.setdiff1d(np.arange(len(confidence)), queue)
        drawn = rng.choice(rest, 40, replace=False)
        unlabeled = np.setdiff1d(rest, drawn)
        result = pool_accuracy(
            Held.of(confidence[queue], correct[queue]),
            Held.of(confidence[drawn], correct[drawn]),
            confidence[unlabeled],
        )
        assert result is not None
        truth = correct.mean()
        inside += result["low"] <= truth <= result["high"]
        widths.append(result["high"] - result["low"])
        low, high = wilson(int(correct[drawn].sum()), 40)
        wilson_widths.append((high - low) * len(rest) / len(confidence))
        errors.append(result["value"] - truth)
        g = fit_map(Held.of(confidence[queue], correct[queue]))
        map_only = (correct[queue].sum() + g(confidence[rest]).sum()) / len(confidence)
        map_errors.append(map_only - truth)
    assert 0.92 <= inside / 300 <= 0.985
    assert abs(np.mean(errors)) < 0.005  # unbiased
    if queue_harder:  # the map learnt on hard items understates the rest of the pool
        assert np.mean(map_errors) < -0.02
    else:  # a well calibrated confidence narrows the interval
        assert abs(np.mean(map_errors)) < 0.01
        assert np.mean(widths) < 0.93 * np.mean(wilson_widths)


def test_single_label_wiring_from_a_head_fit() -> None:
    y = np.array([0, 1, 0, 1, 0, 1])
    sure = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.6, 0.4], [0.3, 0.7]])
    cv = sure.copy()
    cv[3] = [0.6, 0.4]  # a queue row predicted wrong
    audit = np.array([True, True, False, False, False, False])
    human = np.array([True, True, True, True, False, True])  # row 4 confirmed a suggestion
    audit_probs = np.full(sure.shape, np.nan)
    audit_probs[audit] = sure[audit]
    unlabeled = np.array([[0.95, 0.05]] * 4)
    result = single_label_pool_accuracy(y, cv, audit_probs, audit, human, unlabeled)
    assert result is not None
    # queue rows 2, 3, 5 (one wrong); rest: 4 unlabeled, the suggested row, the 2 audit rows
    assert (result["queue_labels"], result["audit_labels"], result["pool_items"]) == (3, 2, 10)
    expected = pool_accuracy(
        Held.of(cv[[2, 3, 5]].max(axis=1), np.array([True, False, True])),
        Held.of(sure[audit].max(axis=1), np.array([True, True])),
        np.r_[np.full(4, 0.95), 0.6],
    )
    assert result == expected
    assert single_label_pool_accuracy(y, cv, None, audit, human, unlabeled) is None
    assert single_label_pool_accuracy(y, cv, audit_probs, audit, human, unlabeled, 3) is None
