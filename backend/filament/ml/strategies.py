"""Query strategies: which unlabeled items to show next.

One entry point, ``select_batch``, used by the labeling queue:

- ``strategy == "random"``: a uniform sample (the baseline).
- Otherwise TypiClust (Hacohen, Dekel & Weinshall, "Active Learning on a Budget: Opposite
  Strategies Suit High and Low Budgets", ICML 2022), weighted by uncertainty: k-means with one
  cluster per labeled item plus one per item wanted; from the clusters holding the fewest
  labels (largest first) the unlabeled item with the best typicality x uncertainty^2 (for
  multi-label projects the uncertainty's rank among the clustered rows: ``uncertainty_ranks``).
  With no model yet (cold start) the weight is 1: the most typical item of each of the largest
  clusters. Few labels: coverage and typicality decide (what the paper finds best on a small
  budget); as clusters fill up and shrink, uncertainty decides within each (its high-budget
  regime), and one batch is spread over as many clusters as it has items.

Uncertainty scores follow Settles, "Active Learning Literature Survey", 2009 (entropy, margin,
least confidence), normalised to [0, 1] with 1 = most uncertain; see ``uncertainty``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.stats import rankdata


class Strategy(StrEnum):
    """The query strategies; the values are what projects store and the API accepts."""

    ENTROPY = "entropy"
    MARGIN = "margin"
    LEAST_CONFIDENCE = "least_confidence"
    RANDOM = "random"


STRATEGIES: tuple[str, ...] = tuple(strategy.value for strategy in Strategy)
# Recommended default. Margin ("breaking ties") beat entropy and random on 4-topic news
# (MiniLM embeddings, logistic head, 5 seeds: .796/.832/.852 at 50/100/200 labels vs entropy
# .777/.815/.838, random .776/.814/.837); for binary tasks the two rank identically. Same
# finding as small-text's BreakingTies. Figures per dataset: docs/benchmarks.md.
DEFAULT_STRATEGY: str = Strategy.MARGIN.value

SAMPLE = 3000  # rows clustered per call, labeled and unlabeled each: the cost stays bounded
MAX_CLUSTERS = 500
CLUSTER_DIMS = 64  # k-means runs on a random projection: 20x cheaper on 1280-d image vectors
TYPICALITY_NEIGHBOURS = 20
MIN_CLUSTER = 5  # smaller clusters are outliers' (used only when no other cluster is left)
UNCERTAINTY_POWER = 2
# Multi-label selection weighs rows by the rank of their uncertainty, not its value (see
# ``uncertainty_ranks``). Posters (Lite0, 10 seeds, micro-F1 at 20 / 50 / 100 / 120 / 150 / 200
# labels, bench_loop's simulation): by value .411 / .426 / .453 / .451 / .453 / .455, by rank
# .417 / .438 / .461 / .468 / .457 / .461, random .407 / .428 / .447 / .454 / .456 / .457. On
# single-label sets it lost at few labels (accuracy at 20 / 100 / 200: UCI .829 / .872 / .885 ->
# .815 / .874 / .887, AG News .779 / .835 / .843 -> .775 / .837 / .844, CIFAR-10 .519 / .642 /
# .686 -> .500 / .634 / .685), so they keep the value.

_EPS = 1e-12


# -- uncertainty scores (one small function per strategy) -------------------------------------


def entropy_score(probs: np.ndarray, multilabel: bool) -> np.ndarray:
    """Shannon entropy of each row divided by ``log k`` (single-label, Shannon 1948), or the
    mean per-label binary entropy in bits (multi-label). Both lie in [0, 1]."""
    if multilabel:
        p = np.clip(probs, _EPS, 1 - _EPS)
        bits: np.ndarray = (-(p * np.log2(p) + (1 - p) * np.log2(1 - p))).mean(axis=1)
        return bits
    k = probs.shape[1]
    if k < 2:
        return np.zeros(len(probs))
    p = np.clip(probs, _EPS, 1.0)
    normalised: np.ndarray = -(probs * np.log(p)).sum(axis=1) / np.log(k)
    return normalised


def margin_score(probs: np.ndarray, multilabel: bool) -> np.ndarray:
    """``1 - (p1 - p2)`` for the two most probable classes (Scheffer et al., IDA 2001).

    Multi-label: each label is a binary decision with margin ``|p - (1 - p)|``; the score is
    the mean over labels of ``1 - |2p - 1|``."""
    if multilabel:
        per_label: np.ndarray = (1 - np.abs(2 * probs - 1)).mean(axis=1)
        return per_label
    if probs.shape[1] < 2:
        return 1 - probs[:, 0] if probs.shape[1] else np.zeros(len(probs))
    top2 = np.partition(probs, -2, axis=1)[:, -2:]
    return 1 - (top2[:, 1] - top2[:, 0])


def least_confidence_score(probs: np.ndarray, multilabel: bool) -> np.ndarray:
    """``(1 - max p) / (1 - 1/k)`` so a uniform row scores 1 (Lewis & Gale, SIGIR 1994).

    Multi-label: per label ``(1 - max(p, 1 - p)) / 0.5``, averaged; for a binary decision this
    equals the multi-label margin score."""
    if multilabel:
        per_label: np.ndarray = (2 * (1 - np.maximum(probs, 1 - probs))).mean(axis=1)
        return per_label
    k = probs.shape[1]
    if k < 2:
        return np.zeros(len(probs))
    scaled: np.ndarray = (1 - probs.max(axis=1)) / (1 - 1 / k)
    return scaled


Scorer = Callable[[np.ndarray, bool], np.ndarray]
_SCORERS: dict[str, Scorer] = {
    Strategy.ENTROPY: entropy_score,
    Strategy.MARGIN: margin_score,
    Strategy.LEAST_CONFIDENCE: least_confidence_score,
}


def uncertainty(probs: np.ndarray, strategy: str, multilabel: bool) -> np.ndarray:
    """Uncertainty in [0, 1] per row of ``probs`` (n, k); higher = more informative to label.

    ``random`` has no score and raises ``ValueError`` (``select_batch`` samples instead).
    """
    if strategy not in _SCORERS:
        raise ValueError(
            f"no uncertainty score for strategy {strategy!r}; use one of {', '.join(_SCORERS)}"
        )
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be a 2-d (items, labels) array, got shape {probs.shape}")
    scores = _SCORERS[strategy](probs, multilabel)
    clipped: np.ndarray = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)
    return clipped


def uncertainty_ranks(scores: np.ndarray) -> np.ndarray:
    """Each score's rank among ``scores`` as a share in (0, 1] (ties share their mean rank).

    Why: a multi-label score is a mean over many labels' scores, so its values bunch around
    their mean, and ``scores ** UNCERTAINTY_POWER`` then weighs the rows almost alike, leaving
    typicality alone to decide. Posters' margin scores, head on 100 random labels: std .015
    around .77, the 10th-percentile row weighs .90 of the 90th's (CIFAR-10: std .21, .17;
    UCI: .27, .02). Ranks spread the weights over (0, 1] whatever the head's scale."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return scores
    shares: np.ndarray = rankdata(scores, method="average") / len(scores)
    return shares


# -- algorithms -------------------------------------------------------------------------------


def kmeans(
    X: np.ndarray, k: int, rng: np.random.Generator, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means (Lloyd 1982) with k-means++ seeding (Arthur & Vassilvitskii, SODA 2007).

    Returns ``(centers (k, dim), labels (len(X),))``. Plain numpy: on a few thousand rows it
    takes milliseconds, where scikit-learn's thread start-up alone costs a few hundred.
    """
    m = len(X)
    sq_norms = np.einsum("ij,ij->i", X, X)
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    centers[0] = X[rng.integers(m)]
    d2 = np.maximum(sq_norms - 2 * X @ centers[0] + centers[0] @ centers[0], 0)
    for i in range(1, k):
        total = d2.sum()
        pick = rng.choice(m, p=d2 / total) if total > 0 else rng.integers(m)
        centers[i] = X[pick]
        d2 = np.minimum(d2, np.maximum(sq_norms - 2 * X @ centers[i] + centers[i] @ centers[i], 0))
    labels = np.full(m, -1)
    for _ in range(max_iter):
        new_labels = np.argmin(np.einsum("ij,ij->i", centers, centers) - 2 * X @ centers.T, axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        onehot = np.zeros((k, m), dtype=X.dtype)
        onehot[labels, np.arange(m)] = 1
        sums = onehot @ X
        filled = counts > 0  # an emptied cluster keeps its old centre
        centers[filled] = (sums[filled] / counts[filled, None]).astype(X.dtype)
    return centers, labels


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first, ties by lower index (stable)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    # argpartition leaves ties at the cut arbitrary: keep every row tied with the k-th score,
    # then rank stably so the same scores always give the same batch.
    cut = scores[part].min()
    part = np.flatnonzero(scores >= cut)
    return part[np.lexsort((part, -scores[part]))][:k].astype(np.int64)


def typicality(X: np.ndarray, knn: int = TYPICALITY_NEIGHBOURS) -> np.ndarray:
    """Typicality (Hacohen et al. 2022): the inverse of the mean Euclidean distance from each
    row to its ``knn`` nearest other rows, so rows in dense regions score high. A lone row
    scores 1."""
    X = np.asarray(X, dtype=np.float32)
    m = len(X)
    if m <= 1:
        return np.ones(m)
    k = min(knn, m - 1)
    sq_norms = np.einsum("ij,ij->i", X, X)
    d2 = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2 * X @ X.T, 0)
    np.fill_diagonal(d2, np.inf)
    nearest = np.sqrt(np.partition(d2, k - 1, axis=1)[:, :k])
    inverse: np.ndarray = 1 / (nearest.mean(axis=1) + 1e-6)
    return inverse


def random_projection(X: np.ndarray, dims: int = CLUSTER_DIMS) -> np.ndarray:
    """``X`` times a fixed Gaussian matrix scaled by ``1/sqrt(dims)``, which keeps distances
    within a small factor (Johnson & Lindenstrauss 1984; Dasgupta, UAI 2000, for clustering).
    Rows with at most ``dims`` columns are returned as they are."""
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1] <= dims:
        return X
    gauss = np.random.default_rng(0).standard_normal((X.shape[1], dims)).astype(np.float32)
    projected: np.ndarray = X @ (gauss / np.sqrt(dims))
    return projected


@dataclass(frozen=True)
class Clusters:
    """Rows of an embedding matrix grouped by k-means, each with its typicality relative to the
    most typical row of its cluster: what ``choose_uncovered`` picks from. Reusable for several
    batches: only which rows are taken changes between them."""

    rows: np.ndarray  # the clustered rows of the embedding matrix
    cluster: np.ndarray  # the cluster of each
    typical: np.ndarray  # its typicality / the highest typicality in its cluster
    k: int


def cluster_rows(X: np.ndarray, rows: np.ndarray, k: int, rng: np.random.Generator) -> Clusters:
    """k-means of ``X[rows]`` (on ``random_projection``) and each row's relative typicality."""
    points = np.asarray(X[rows], dtype=np.float32)
    _, cluster = kmeans(random_projection(points), k, rng, max_iter=10)
    typical = np.zeros(len(rows))
    for label in np.unique(cluster):
        members = np.flatnonzero(cluster == label)
        scores = typicality(points[members])
        typical[members] = scores / scores.max()
    return Clusters(np.asarray(rows, dtype=np.int64), cluster, typical, k)


def choose_uncovered(
    clusters: Clusters, taken: np.ndarray, n: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """``n`` times: among the clusters that still hold a row not taken (of at least
    ``MIN_CLUSTER`` rows while there are such), the one with the fewest taken or chosen rows,
    the largest on a tie, gives its free row with the highest relative typicality x ``weights``.
    ``taken`` and ``weights`` are per clustered row. Returns up to ``n`` distinct positions in
    ``clusters.rows``, in selection order."""
    taken = np.asarray(taken, dtype=bool).copy()
    n = min(max(n, 0), int((~taken).sum()))
    cluster, k = clusters.cluster, clusters.k
    sizes = np.bincount(cluster, minlength=k)
    covered = np.bincount(cluster[taken], minlength=k)
    open_rows = np.bincount(cluster[~taken], minlength=k)
    score = clusters.typical if weights is None else clusters.typical * weights
    chosen = []
    for _ in range(n):
        candidates = np.flatnonzero((open_rows > 0) & (sizes >= MIN_CLUSTER))
        if len(candidates) == 0:
            candidates = np.flatnonzero(open_rows > 0)
        best = candidates[np.lexsort((candidates, -sizes[candidates], covered[candidates]))[0]]
        members = np.flatnonzero(cluster == best)
        row = members[int(np.argmax(np.where(taken[members], -np.inf, score[members])))]
        chosen.append(row)
        taken[row] = True
        covered[best] += 1
        open_rows[best] -= 1
    return np.asarray(chosen, dtype=np.int64)


def plan_batch(
    X: np.ndarray,
    taken: np.ndarray,
    n: int,
    rng: np.random.Generator,
    scores: np.ndarray | None = None,
) -> Clusters:
    """The clustering ``select_batch`` chooses from: at most ``SAMPLE`` free rows (the more
    uncertain half by ``scores``, the rest at random) and as many taken ones, in ``taken + n``
    clusters (at most ``MAX_CLUSTERS``)."""
    unlabeled, done = np.flatnonzero(~taken), np.flatnonzero(taken)
    if len(unlabeled) > SAMPLE:
        chosen = np.zeros(0, dtype=np.int64)
        if scores is not None:
            chosen = unlabeled[top_k(np.asarray(scores)[unlabeled], SAMPLE // 2)]
        free = np.ones(len(unlabeled), dtype=bool)  # a mask: setdiff1d sorts a million ids
        free[np.searchsorted(unlabeled, chosen)] = False
        rest = rng.choice(unlabeled[free], SAMPLE - len(chosen), replace=False)
        unlabeled = np.sort(np.concatenate([chosen, rest]))
    if len(done) > SAMPLE:
        done = np.sort(rng.choice(done, SAMPLE, replace=False))
    rows = np.concatenate([done, unlabeled])
    k = min(len(done) + min(n, len(unlabeled)), MAX_CLUSTERS, len(rows))
    return cluster_rows(X, rows, k, rng)


def select_batch(
    scores: np.ndarray | None,
    embeddings: np.ndarray,
    n: int,
    rng: np.random.Generator,
    strategy: str,
    labeled: np.ndarray | None = None,
    clusters: Clusters | None = None,
    by_rank: bool = False,
) -> np.ndarray:
    """Choose ``n`` rows of ``embeddings`` to label next, in the order to show them.

    ``labeled``: a boolean mask of rows already labeled (or otherwise taken), never chosen;
    they mark the space they cover. ``scores``: ``uncertainty`` of every row, or ``None`` when
    there is no model yet (cold start). ``random`` samples the unlabeled rows uniformly with
    ``rng``; otherwise TypiClust (``choose_uncovered``) weighted by
    ``scores ** UNCERTAINTY_POWER``, on at most ``SAMPLE`` random unlabeled rows plus as many
    labeled ones (``plan_batch``), or on
    ``clusters`` made earlier by ``plan_batch`` for the same rows. ``by_rank``: the weights are
    ``uncertainty_ranks`` of the clustered rows' scores instead (multi-label). Returns at most
    ``min(n, unlabeled rows)`` distinct int64 indices; an empty array when none is left.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    m = len(embeddings)
    if scores is not None and len(scores) != m:
        raise ValueError(f"{len(scores)} scores for {m} embedding rows")
    taken = np.zeros(m, dtype=bool) if labeled is None else np.asarray(labeled, dtype=bool)
    if len(taken) != m:
        raise ValueError(f"labeled mask of {len(taken)} rows for {m} embedding rows")
    unlabeled = np.flatnonzero(~taken)
    n = min(max(int(n), 0), len(unlabeled))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if strategy == Strategy.RANDOM:
        return unlabeled[rng.choice(len(unlabeled), n, replace=False)].astype(np.int64)
    if clusters is None:
        clusters = plan_batch(embeddings, taken, n, rng, scores)
    weights = None
    if scores is not None:
        weights = np.nan_to_num(np.asarray(scores, dtype=np.float64)[clusters.rows], nan=0.0)
        if by_rank:
            weights = uncertainty_ranks(weights)
        weights = weights**UNCERTAINTY_POWER
    chosen: np.ndarray = clusters.rows[choose_uncovered(clusters, taken[clusters.rows], n, weights)]
    return chosen
