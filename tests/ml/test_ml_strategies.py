"""Query strategies: a shared contract for every strategy, exact rankings, known geometry."""

import time

import numpy as np
import pytest
from filament.ml.strategies import (
    STRATEGIES,
    k_center_greedy,
    kmeans_representatives,
    select_batch,
    top_k,
    uncertainty,
)

SCORED = [s for s in STRATEGIES if s != "random"]


def pool(n: int, dim: int = 8, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)).astype(np.float32), rng.dirichlet(np.ones(k), n)


def scores_for(strategy: str, probs: np.ndarray) -> np.ndarray | None:
    return None if strategy == "random" else uncertainty(probs, strategy, multilabel=False)


# -- contract, every strategy -----------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("cold", [False, True])
class TestContract:
    def pick(self, strategy: str, cold: bool, n_pool: int, n: int, seed: int = 0) -> np.ndarray:
        X, probs = pool(n_pool)
        scores = None if cold else scores_for(strategy, probs)
        return select_batch(scores, X, n, np.random.default_rng(seed), strategy)

    def test_empty_pool(self, strategy: str, cold: bool) -> None:
        chosen = self.pick(strategy, cold, 0, 5)
        assert chosen.shape == (0,) and chosen.dtype == np.int64

    def test_n_zero(self, strategy: str, cold: bool) -> None:
        assert len(self.pick(strategy, cold, 30, 0)) == 0

    def test_pool_smaller_than_n(self, strategy: str, cold: bool) -> None:
        assert sorted(self.pick(strategy, cold, 3, 10)) == [0, 1, 2]

    def test_distinct_in_range(self, strategy: str, cold: bool) -> None:
        chosen = self.pick(strategy, cold, 200, 10)
        assert len(chosen) == 10 == len(set(chosen.tolist()))
        assert chosen.min() >= 0 and chosen.max() < 200

    def test_deterministic_with_seeded_generator(self, strategy: str, cold: bool) -> None:
        first = self.pick(strategy, cold, 300, 10, seed=7)
        assert np.array_equal(first, self.pick(strategy, cold, 300, 10, seed=7))


@pytest.mark.parametrize("strategy", SCORED)
@pytest.mark.parametrize("multilabel", [False, True])
def test_scores_in_unit_interval(strategy: str, multilabel: bool) -> None:
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=(500, 5)) if multilabel else rng.dirichlet(np.ones(5) * 0.3, 500)
    edge = np.eye(5)[:2] if not multilabel else np.array([[0, 1, 0, 1, 1], [0.5] * 5])
    scores = uncertainty(np.vstack([probs, edge]), strategy, multilabel)
    assert scores.shape == (502,)
    assert scores.min() >= 0 and scores.max() <= 1


def test_random_has_no_score() -> None:
    with pytest.raises(ValueError, match="random"):
        uncertainty(np.full((2, 2), 0.5), "random", False)


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        select_batch(None, np.zeros((3, 2)), 1, np.random.default_rng(0), "bald")


# -- exact rankings ---------------------------------------------------------------------------

PROBS = np.array(
    [
        [0.90, 0.05, 0.05],  # 0 confident
        [0.34, 0.33, 0.33],  # 1 near uniform: most uncertain for every score
        [0.50, 0.49, 0.01],  # 2 two-way tie: small margin, medium entropy
        [0.60, 0.20, 0.20],  # 3 spread
        [1.00, 0.00, 0.00],  # 4 certain
    ]
)


def test_entropy_ranking() -> None:
    scores = uncertainty(PROBS, "entropy", False)
    assert list(np.argsort(-scores)) == [1, 3, 2, 0, 4]
    assert scores[4] == pytest.approx(0)
    assert uncertainty(np.full((1, 3), 1 / 3), "entropy", False)[0] == pytest.approx(1)


def test_margin_ranking() -> None:
    scores = uncertainty(PROBS, "margin", False)
    assert list(np.argsort(-scores, kind="stable")) == [1, 2, 3, 0, 4]
    assert scores[2] == pytest.approx(1 - 0.01)
    assert scores[3] == pytest.approx(0.6)


def test_least_confidence_ranking() -> None:
    scores = uncertainty(PROBS, "least_confidence", False)
    assert list(np.argsort(-scores, kind="stable")) == [1, 2, 3, 0, 4]
    assert scores[0] == pytest.approx(0.1 / (2 / 3))
    assert uncertainty(np.full((1, 4), 0.25), "least_confidence", False)[0] == pytest.approx(1)


def test_multilabel_rankings() -> None:
    probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.5, 0.99], [1.0, 0.0]])
    entropy = uncertainty(probs, "entropy", True)
    assert entropy[0] == pytest.approx(1)  # one bit per label, averaged
    assert entropy[3] == pytest.approx(0, abs=1e-9)
    assert list(np.argsort(-entropy)) == [0, 2, 1, 3]
    for strategy in ("margin", "least_confidence"):
        scores = uncertainty(probs, strategy, True)
        assert scores == pytest.approx([1.0, 0.2, 0.51, 0.0])


def test_top_k_is_ranked_and_stable() -> None:
    scores = np.array([0.2, 0.9, 0.5, 0.9, 0.1, 0.5])
    assert top_k(scores, 4).tolist() == [1, 3, 2, 5]
    assert top_k(scores, 10).tolist() == [1, 3, 2, 5, 0, 4]
    assert top_k(scores, 0).tolist() == []


# -- algorithms on known geometry -------------------------------------------------------------


def clusters(per: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)
    X = np.vstack([c + 0.3 * rng.standard_normal((per, 2)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(4), per)


def test_k_center_greedy_on_a_line() -> None:
    X = np.array([[0.0], [1.0], [2.0], [10.0], [4.0]])
    assert k_center_greedy(X, 3).tolist() == [0, 3, 4]
    assert k_center_greedy(X, 2, already_selected=np.array([3])).tolist() == [0, 4]
    assert k_center_greedy(X, 10).tolist() == [0, 3, 4, 2, 1]
    assert k_center_greedy(X, 0).tolist() == []


def test_k_center_greedy_takes_one_per_cluster() -> None:
    X, cluster = clusters()
    assert sorted(cluster[k_center_greedy(X, 4)]) == [0, 1, 2, 3]


def test_kmeans_representatives_one_per_cluster_largest_first() -> None:
    X, cluster = clusters()
    X = np.vstack([X, X[cluster == 2] + 0.01])  # cluster 2 twice as large
    cluster = np.r_[cluster, np.full(20, 2)]
    chosen = kmeans_representatives(X, 4, np.random.default_rng(0))
    assert sorted(cluster[chosen]) == [0, 1, 2, 3]
    assert cluster[chosen[0]] == 2


def test_kmeans_representatives_distinct_with_duplicates() -> None:
    X = np.zeros((10, 3), dtype=np.float32)
    chosen = kmeans_representatives(X, 4, np.random.default_rng(0))
    assert len(set(chosen.tolist())) == 4


def test_select_batch_diverse_and_most_uncertain_first() -> None:
    X, cluster = clusters(per=25)
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 0.5, len(X))
    scores[cluster == 0] += 0.5  # the most uncertain items are all in one cluster
    chosen = select_batch(scores, X, 4, rng, "entropy", candidate_factor=25)
    assert chosen[0] == int(np.argmax(scores))
    assert sorted(cluster[chosen]) == [0, 1, 2, 3]
    assert np.all(np.diff(scores[chosen]) <= 0)


def test_select_batch_fast_on_large_pool() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 384)).astype(np.float32)
    scores = rng.uniform(size=100_000)
    select_batch(scores, X, 10, rng, "entropy")  # warm-up
    started = time.perf_counter()
    select_batch(scores, X, 10, rng, "entropy")
    assert time.perf_counter() - started < 0.05  # ~2 ms measured; generous for busy CI
