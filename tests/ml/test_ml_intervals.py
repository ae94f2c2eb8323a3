"""Intervals and held-out metrics on constructed examples with known answers."""

import numpy as np
import pytest
from filament.ml.heads import audit_probs
from filament.ml.intervals import clopper_pearson_lower, min_items_for, wilson
from filament.ml.metrics import held_out_metrics, judge
from scipy.stats import binom


def test_wilson_known_values() -> None:
    # textbook values (e.g. Brown, Cai & DasGupta 2001; Newcombe 1998)
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


def test_clopper_pearson_known_values() -> None:
    # all correct: the bound is alpha ** (1 / n) exactly; 9 of 10: the beta quantile
    assert clopper_pearson_lower(10, 10) == pytest.approx(0.05**0.1)
    assert clopper_pearson_lower(9, 10) == pytest.approx(0.6058, abs=1e-4)
    assert clopper_pearson_lower(0, 10) == 0.0
    # 97 % needs 99 all-correct items at 95 %: 98 are not enough
    assert min_items_for(0.97) == 99
    assert clopper_pearson_lower(98, 98) < 0.97 <= clopper_pearson_lower(99, 99)


def test_wilson_covers_at_nominal_rate() -> None:
    """Exact coverage (summed over the binomial): about 95 % on average over accuracies
    0.5-0.95, never below 92.5 % (its known oscillation; the Wald interval drops far lower)."""
    for n in (30, 100):
        coverage = []
        for p in np.linspace(0.5, 0.95, 46):
            inside = [k for k in range(n + 1) if wilson(k, n)[0] <= p <= wilson(k, n)[1]]
            coverage.append(binom.pmf(inside, n, p).sum())
        assert min(coverage) >= 0.925 and 0.945 <= np.mean(coverage) <= 0.96


def test_held_out_single_label_with_counts_below_support() -> None:
    y = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 1, 2, 2, 2, 0, 2]] * 0.8 + 0.2 / 3
    metrics = held_out_metrics(y, probs, multilabel=False, n_labels=3)
    acc = metrics["accuracy"]
    assert acc["value"] == 0.8 and acc["correct"] == 8 and acc["method"] == "wilson"
    assert (acc["low"], acc["high"]) == pytest.approx(wilson(8, 10))
    f1 = metrics["macro_f1"]
    assert f1["low"] <= f1["value"] <= f1["high"] and f1["method"] == "bootstrap"
    assert metrics["support"] == 10 and metrics["label_counts"] == [2, 3, 5]
    # below the minimum support: counts only, no figure
    few = held_out_metrics(y, probs, multilabel=False, n_labels=3, min_support=30)
    assert few == {"support": 10, "min_support": 30, "label_counts": [2, 3, 5]}
    # rows without a prediction are left out
    probs[0] = np.nan
    assert held_out_metrics(y, probs, False, 3)["support"] == 9


def test_held_out_perfect_predictions_have_degenerate_bootstrap() -> None:
    y = np.arange(40) % 2
    metrics = held_out_metrics(y, np.eye(2)[y], multilabel=False, n_labels=2)
    assert metrics["macro_f1"]["low"] == metrics["macro_f1"]["high"] == 1.0


def test_bootstrap_macro_f1_covers_the_population_value() -> None:
    """Samples of 200 from a population of 20,000 with a fixed classifier: the percentile
    interval contains the population's macro-F1 about 95 % of the time."""
    rng = np.random.default_rng(1)
    n_pop = 20_000
    y = rng.integers(0, 3, n_pop)
    pred = np.where(rng.random(n_pop) < 0.75, y, rng.integers(0, 3, n_pop))
    probs = np.eye(3)[pred]
    truth = held_out_metrics(y, probs, False, 3)["macro_f1"]["value"]
    inside = 0
    for _ in range(100):
        sample = rng.choice(n_pop, 200, replace=False)
        f1 = held_out_metrics(y[sample], probs[sample], False, 3)["macro_f1"]
        inside += f1["low"] <= truth <= f1["high"]
    assert inside >= 88


def test_held_out_multilabel() -> None:
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 10)
    probs = Y * 0.9 + 0.05
    probs[0] = [0.2, 0.9]  # one wrong row
    metrics = held_out_metrics(Y, probs, multilabel=True, n_labels=2)
    assert metrics["subset_accuracy"]["correct"] == 39
    assert metrics["micro_f1"]["low"] <= metrics["micro_f1"]["value"] <= 1.0
    assert metrics["label_counts"] == [20, 20]


def test_judge_trusts_audit_and_flags_disagreement() -> None:
    cv = {"accuracy": {"value": 0.6, "low": 0.55, "high": 0.65}}
    audit = {"accuracy": {"value": 0.75, "low": 0.68, "high": 0.81}}
    assert judge(cv, audit, False) == {
        "metric": "accuracy",
        "trust": "audit",
        "disagree": True,
        "figure": "accuracy",
    }
    close = {"accuracy": {"value": 0.62, "low": 0.5, "high": 0.72}}
    assert judge(cv, close, False)["disagree"] is False
    assert judge(cv, {"support": 3}, False) == {
        "metric": "accuracy",
        "trust": "cross_validated",
        "disagree": False,
        "figure": "accuracy",
    }
    assert judge({}, {"support": 3}, False)["figure"] is None
    # the pool-wide figure, when there is one, is the audited figure judged
    pooled = close | {"pool_accuracy": {"value": 0.8, "low": 0.7, "high": 0.86}}
    assert judge(cv, pooled, False) == {
        "metric": "accuracy",
        "trust": "audit",
        "disagree": True,
        "figure": "pool_accuracy",
    }


def test_audit_rows_are_predicted_by_models_that_never_saw_them() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    X[59], y[59] = 10.0, 2  # class 2 only on an audit row: held out, it cannot be predicted
    audit = np.zeros(60, dtype=bool)
    audit[[3, 10, 20, 59]] = True
    probs = audit_probs(X, y, False, 3, "logreg", audit)
    assert np.isnan(probs[~audit]).all() and np.isfinite(probs[audit]).all()
    assert probs[59, 2] == 0.0


def test_the_queue_model_is_fitted_without_the_audit_rows() -> None:
    from filament.ml.heads import train_head

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    X[59], y[59] = 10.0, 2
    audit = np.zeros(60, dtype=bool)
    audit[[3, 10, 59]] = True
    fit = train_head(X, y, False, 3, audit=audit)
    assert fit.model.predict_proba(X[59:])[0, 2] > 0.5  # the deployed model learned class 2
    assert fit.queue_model is not None
    assert fit.queue_model.predict_proba(X[59:])[0, 2] == 0.0  # the queue's never saw it
    assert train_head(X, y, False, 3).queue_model is None
