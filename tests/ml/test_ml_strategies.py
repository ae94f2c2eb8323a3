"""Query strategies: a shared contract for every strategy, exact rankings, known geometry."""

import numpy as np
import pytest
from filament.ml.strategies import (
    STRATEGIES,
    choose_uncovered,
    cluster_rows,
    plan_batch,
    random_projection,
    select_batch,
    top_k,
    typicality,
    uncertainty,
    uncertainty_ranks,
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


# a 3x3 grid with unit spacing: mean distance to the 8 others is (4 + 4 sqrt 2) / 8 = 1.2071
# from the centre, 1.5376 from an edge middle, 1.8393 from a corner
GRID = np.array([[x, y] for x in (-1, 0, 1) for y in (-1, 0, 1)], dtype=np.float32)
CENTRE, EDGE = 4, 1  # rows of GRID: (0, 0) and (-1, 0)


def test_typicality_by_hand() -> None:
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    # two nearest others: 0 -> {1, 2}, 1 -> {1, 1}, 2 -> {1, 2}, 10 -> {8, 9}
    assert typicality(X, knn=2) == pytest.approx([1 / 1.5, 1, 1 / 1.5, 1 / 8.5], rel=1e-5)
    assert typicality(GRID) == pytest.approx(
        1 / np.array([1.8393, 1.5376] * 2 + [1.2071] + [1.5376, 1.8393] * 2), rel=1e-4
    )
    assert typicality(np.zeros((1, 3))).tolist() == [1.0]


def blobs(sizes: tuple[int, ...] = (1, 1, 1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Grids of GRID scaled by ``sizes`` (1: 3x3; 2: 5x5), far apart; returns rows, blob."""
    rows, blob = [], []
    corners = [(0, 0), (50, 0), (0, 50), (50, 50)]
    for b, (size, corner) in enumerate(zip(sizes, corners, strict=True)):
        side = np.arange(-size, size + 1, dtype=np.float32)
        grid = np.array([[x, y] for x in side for y in side], dtype=np.float32)
        rows.append(grid + np.array(corner, dtype=np.float32))
        blob += [b] * len(grid)
    return np.vstack(rows), np.array(blob)


def test_choose_uncovered_takes_centres_of_uncovered_clusters_largest_first() -> None:
    X, blob = blobs((1, 1, 2, 1))  # blob 2 is a 5x5 grid (rows 18-42), the others 3x3
    centres = [4, 13, 30, 47]  # the middle row of each grid
    assert blob[centres].tolist() == [0, 1, 2, 3] and (X[centres] % 50 == 0).all()
    rows, free = np.arange(len(X)), np.zeros(len(X), dtype=bool)
    chosen = choose_uncovered(cluster_rows(X, rows, 4, np.random.default_rng(0)), free, 4)
    assert chosen[0] == centres[2]
    assert sorted(chosen.tolist()) == sorted(centres)
    # blob 0 holds a label: with 1 + 3 clusters the three others give their centres
    taken = free.copy()
    taken[0] = True
    chosen = choose_uncovered(cluster_rows(X, rows, 4, np.random.default_rng(0)), taken, 3)
    assert sorted(chosen.tolist()) == sorted(centres[1:])


def test_choose_uncovered_weights_multiply_relative_typicality() -> None:
    # relative typicality: centre 1, edge middles 1.2071 / 1.5376 = .785, corners .656
    weights = np.zeros(9)
    weights[[EDGE, 3, 5, 7]] = 1.0
    weights[CENTRE] = 0.5  # .5 < .785: the first edge middle wins
    rng = np.random.default_rng(0)
    free = np.zeros(9, dtype=bool)
    one = cluster_rows(GRID, np.arange(9), 1, rng)
    assert choose_uncovered(one, free, 1, weights).tolist() == [EDGE]
    weights[CENTRE] = 0.8  # .8 > .785: the centre again
    one = cluster_rows(GRID, np.arange(9), 1, rng)
    assert choose_uncovered(one, free, 1, weights).tolist() == [CENTRE]


def test_random_projection_keeps_distances_roughly() -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 1280)).astype(np.float32)
    Z = random_projection(X)
    assert Z.shape == (50, 64)
    ratio = np.linalg.norm(Z[1:] - Z[0], axis=1) / np.linalg.norm(X[1:] - X[0], axis=1)
    assert ratio.min() > 0.6 and ratio.max() < 1.4
    assert random_projection(X[:, :10]).shape == (50, 10)  # already small: unchanged


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_select_batch_never_returns_labeled_rows(strategy: str) -> None:
    X, probs = pool(40)
    labeled = np.zeros(40, dtype=bool)
    labeled[::2] = True
    scores = scores_for(strategy, probs)
    chosen = select_batch(scores, X, 30, np.random.default_rng(0), strategy, labeled=labeled)
    assert sorted(chosen.tolist()) == list(range(1, 40, 2))  # all 20 unlabeled, nothing else


def test_select_batch_spreads_the_uncertain_over_clusters() -> None:
    X, cluster = clusters(per=25)
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 0.5, len(X))
    scores[cluster == 0] += 0.5  # the most uncertain items are all in one cluster
    chosen = select_batch(scores, X, 4, rng, "entropy")
    assert sorted(cluster[chosen]) == [0, 1, 2, 3]


def test_select_batch_follows_uncertainty_within_a_cluster() -> None:
    X, _ = clusters(per=25)
    scores = np.full(len(X), 0.1)
    scores[7] = 1.0  # 10x the weight of any other: 100x after squaring
    chosen = select_batch(scores, X, 4, np.random.default_rng(0), "margin")
    assert 7 in chosen.tolist()


def test_uncertainty_ranks_are_shares_with_ties_sharing_their_mean_rank() -> None:
    ranks = uncertainty_ranks(np.array([0.3, 0.1, 0.3, 0.9]))
    assert ranks.tolist() == [0.625, 0.25, 0.625, 1.0]  # ranks 2.5, 1, 2.5, 4 of 4
    assert uncertainty_ranks(np.zeros(0)).shape == (0,)


def bunched_scores(X: np.ndarray, cluster: np.ndarray) -> tuple[np.ndarray, int]:
    """Scores bunched as a multi-label mean's are: 0.76 everywhere but 0.78 on a middling row
    of cluster 0 by typicality; returns the scores and that row."""
    members = np.flatnonzero(cluster == 0)
    row = int(members[np.argsort(typicality(X[members]))[len(members) // 2]])
    scores = np.full(len(X), 0.76)
    scores[row] = 0.78
    return scores, row


def test_by_rank_lets_bunched_scores_choose_within_a_cluster() -> None:
    X, cluster = clusters(per=25)
    scores, row = bunched_scores(X, cluster)
    by_value = select_batch(scores, X, 4, np.random.default_rng(0), "margin")
    by_rank = select_batch(scores, X, 4, np.random.default_rng(0), "margin", by_rank=True)
    assert row not in by_value.tolist()  # (0.78 / 0.76)^2 = 1.05: typicality decides alone
    assert row in by_rank.tolist()  # weight 1 against its cluster's (50.5 / 100)^2 = .26
    assert sorted(cluster[by_rank]) == [0, 1, 2, 3]  # still one per cluster


def test_select_batch_on_given_clusters_skips_the_clustering_and_what_is_taken_since() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 16)).astype(np.float32)
    scores = rng.uniform(size=5000)
    labeled = np.zeros(5000, dtype=bool)
    labeled[rng.choice(5000, 200, replace=False)] = True
    clusters = plan_batch(X, labeled, 10, np.random.default_rng(1), scores)
    assert len(clusters.rows) == 3200 and clusters.k == 210
    # the same rows as clustering anew with the same generator
    again = select_batch(scores, X, 10, np.random.default_rng(1), "margin", labeled=labeled)
    given = select_batch(scores, X, 10, rng, "margin", labeled=labeled, clusters=clusters)
    assert given.tolist() == again.tolist()
    # later picks from the same clusters never return what was taken meanwhile
    labeled[given] = True
    more = select_batch(scores, X, 10, rng, "margin", labeled=labeled, clusters=clusters)
    assert not set(more.tolist()) & set(np.flatnonzero(labeled).tolist())
    assert set(more.tolist()) <= set(clusters.rows.tolist())


def test_plan_batch_on_a_large_pool_clusters_the_most_uncertain_half_and_a_random_half() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 8)).astype(np.float32)
    scores = rng.uniform(size=10_000)
    taken = np.zeros(10_000, dtype=bool)
    taken[:50] = True
    clusters = plan_batch(X, taken, 10, rng, scores)
    free = np.setdiff1d(clusters.rows, np.arange(50))
    assert len(free) == 3000 and np.array_equal(clusters.rows[:50], np.arange(50))
    most_uncertain = 50 + np.argsort(-scores[50:])[:1500]
    assert set(most_uncertain.tolist()) <= set(free.tolist())
    # the other half is a sample of the rest, not the next most uncertain
    rest = np.setdiff1d(free, most_uncertain)
    assert scores[rest].min() < np.sort(scores[50:])[-1500] / 2
