"""The labeling queue: which items an annotator gets next. Selection (`pick`) is plain
numpy over the embeddings; serving (`next_items`) holds what it hands out under the claim
protocol of `filament.labeling.leases`, which alone decides whether an item may be given."""

import threading
from dataclasses import dataclass

import numpy as np
from redis import Redis
from sqlmodel import Session, col, select

from filament import cache
from filament.cache import cached
from filament.db.models import Annotation, Item, ItemStatus, Project
from filament.labeling import audit, leases, overlap, timing
from filament.ml.strategies import SAMPLE, Clusters, plan_batch, select_batch, top_k
from filament.models.artifacts import (
    ClusterPlan,
    Embeddings,
    Scores,
    load_cold_plan,
    load_embeddings,
)
from filament.models.pool_scores import active_scores, pool_uncertainty
from filament.storage import Storage

QUEUE_BATCH = 10  # the queue's default `limit`: what a version's clustering is made for
COLD_CLUSTERS = 100  # the clustering before the first model: room for a team's first leases
CLAIM_ROUNDS = 5
DONE_HINT_SECONDS = 0.5  # how old the project-wide "finished" hint may be (see finished_items)
CLAIM_SPREAD = 4  # with a team at work: each annotator claims among the best 4 x wanted
REPLAN_FREE = SAMPLE // 4  # a stored clustering with fewer free rows is made again (run_short)
_planning: dict[object, threading.Lock] = {}  # per version: one clustering, nobody waits for it
_planning_guard = threading.Lock()


@dataclass
class Served:
    item_ids: list[int]
    scores: Scores | None  # the active model's, for predictions on the page
    reason: str | None  # why the page is empty (or short)


def next_items(
    session: Session,
    redis: Redis,
    storage: Storage,
    project: Project,
    user_id: int,
    limit: int,
    strategy: str,
    exclude: set[int],
) -> Served:
    """Up to `limit` items for the user, each held for them: first their own live leases
    (minus `exclude`, what the client already shows), then, with several annotators per item,
    items that wait for another one (they finish sooner, and agreement needs them), then new
    items chosen by `strategy`."""
    mine = [item for item in leases.my_leases(redis, project, user_id) if item not in exclude]
    held = leases.claim(redis, session, project, user_id, mine[:limit], limit)
    finished = finished_items(session, redis, project, user_id)
    skipped = timing.recently_skipped(redis, project.id or 0, user_id)
    blocked = np.concatenate([finished, np.array([*exclude, *mine, *skipped], dtype=np.int64)])
    own = set(mine)
    held_by_others = np.array(
        [item for item in leases.held_items(redis, project) if item not in own], dtype=np.int64
    )
    # items someone holds that want another annotator too (k > 1, or in the overlap share)
    shared = overlap.wanted(project, held_by_others) > 1
    if overlap.most_wanted(project) > 1 and len(held) < limit:
        skip = set(blocked.tolist())
        waiting = [item for item in partial_items(session, redis, project) if item not in skip]
        waiting += [item for item in held_by_others[shared].tolist() if item not in skip]
        held += leases.claim(
            redis, session, project, user_id, waiting[: 4 * limit], limit - len(held)
        )
    blocked = np.concatenate([blocked, held_by_others[~shared]])
    scores = active_scores(session, storage, project)
    embeddings = load_embeddings(storage, project.id or 0, project.embedding_version)
    blocked = np.concatenate([blocked, np.array(held, dtype=np.int64)])
    rng = np.random.default_rng([user_id, len(blocked), int(project.id or 0)])
    cold = None
    if scores is None:
        stored = load_cold_plan(
            storage, project.id or 0, project.embedding_version, len(embeddings.item_ids)
        )
        cold = stored[0] if stored else None
        if cold is None:  # the embed job has not planned yet (it does after each chunk)
            strategy = "random"
    # a random share of what is served is drawn for auditing the model (filament.labeling.audit)
    audited = audit.serve_audit(
        session, redis, project, user_id, embeddings, blocked, limit - len(held), rng
    )
    held += audited
    blocked = np.concatenate([blocked, np.array(audited, dtype=np.int64)])
    # annotators asking at the same moment compute the same picks and race for them. With
    # others at work, each takes the best few in an order of their own (the team still gets
    # the best items, few requests collide); the losers of a race pick again among twice as many
    spread = CLAIM_SPREAD if len(held_by_others) else 1
    for round_ in range(CLAIM_ROUNDS):
        wanted = limit - len(held)
        if wanted <= 0:
            break
        candidates = pick(
            embeddings, scores, project, blocked, (wanted * spread) << round_, strategy, rng, cold
        )
        if not candidates:
            break
        if spread > 1:
            candidates = [candidates[i] for i in rng.permutation(len(candidates))]
        held += leases.claim(redis, session, project, user_id, candidates, wanted)
        blocked = np.concatenate([blocked, np.array(candidates, dtype=np.int64)])
    reason = None
    if not held:  # rare: worth an exact answer
        cache.forget(project.id or 0, _done_key(project))
        finished = finished_items(session, redis, project, user_id)
        reason = empty_reason(session, project, embeddings, finished, skipped)
    timing.served(redis, project.id or 0, user_id, held)  # figures only: decides nothing
    return Served(held, scores, reason)


def empty_reason(
    session: Session,
    project: Project,
    embeddings: Embeddings,
    finished: np.ndarray,
    skipped: list[int] | None = None,
) -> str:
    """Why there is nothing to serve, in words for the annotator."""
    pending = session.exec(
        select(Item.id).where(Item.project_id == project.id, Item.status == ItemStatus.pending)
    ).first()
    if len(embeddings.item_ids) == 0:
        if pending is not None:
            return "The items are still being prepared (embedded); try again in a moment."
        return "This project has no items yet."
    # masks, not np.setdiff1d: that sorts the pool (1 s on a million items, on every empty page)
    left = np.ones(len(embeddings.item_ids), dtype=bool)
    rows = embeddings.rows_of(finished)
    left[rows[rows >= 0]] = False
    if not left.any() and pending is None:
        return "Every item has all the annotations it needs from you or others."
    rows = embeddings.rows_of(np.array(skipped or [], dtype=np.int64))
    left[rows[rows >= 0]] = False
    if skipped and not left.any():
        return (
            "The remaining items are ones you skipped; they come back to you "
            f"{timing.SKIP_BLOCK_SECONDS // 60} minutes after the skip."
        )
    return "The remaining items are leased to other annotators; try again later."


def finished_items(session: Session, redis: Redis, project: Project, user_id: int) -> np.ndarray:
    """Items the user need not be offered: labeled often enough, or already labeled by them.
    A hint that steers picks (the claim decides, from the database and the done marks), so
    the project-wide part may be up to `DONE_HINT_SECONDS` old; the user's own part is exact
    (their next page never offers what they just labeled, not even to be refused)."""
    project_id = project.id or 0

    def load_done() -> list[int]:
        rows = session.exec(
            select(Item.id, Item.n_annotations).where(
                Item.project_id == project.id,
                col(Item.n_annotations) >= project.annotations_per_item,
            )
        ).all()
        ids = np.array([item for item, _ in rows], dtype=np.int64)
        counts = np.array([n for _, n in rows], dtype=np.int64)
        return ids[counts >= overlap.wanted(project, ids)].tolist()

    done = cached(redis, project_id, _done_key(project), load_done, stale_for=DONE_HINT_SECONDS)
    mine = cached(
        redis,
        project_id,
        ("mine", user_id),
        lambda: session.exec(
            select(Annotation.item_id).where(
                Annotation.project_id == project.id, Annotation.user_id == user_id
            )
        ).all(),
    )
    return np.array([*done, *mine], dtype=np.int64)


def _done_key(project: Project) -> tuple[object, ...]:
    return ("done", project.annotations_per_item, project.overlap_share)


def partial_items(session: Session, redis: Redis, project: Project) -> list[int]:
    """Items with some but fewer annotations than they want, fullest then oldest first
    (cached by the change stamp)."""

    def load() -> list[int]:
        rows = session.exec(
            select(Item.id, Item.n_annotations)
            .where(
                Item.project_id == project.id,
                col(Item.n_annotations) > 0,
                col(Item.n_annotations) < overlap.most_wanted(project),
            )
            .order_by(col(Item.n_annotations).desc(), col(Item.id))
        ).all()
        ids = np.array([item for item, _ in rows], dtype=np.int64)
        counts = np.array([n for _, n in rows], dtype=np.int64)
        return ids[counts < overlap.wanted(project, ids)].tolist()

    key = ("partial", project.annotations_per_item, project.overlap_share)
    return cached(redis, project.id or 0, key, load)


def pick(
    embeddings: Embeddings,
    scores: Scores | None,
    project: Project,
    blocked: np.ndarray,
    n: int,
    strategy: str,
    rng: np.random.Generator,
    cold_plan: ClusterPlan | None = None,
) -> list[int]:
    """The next `n` item ids by `strategy` among the embedded items not in `blocked` (which
    count as covered: `select_batch` steers away from what is labeled or taken). Before the
    first model, `cold_plan` (`plan_cold_start`) is what it chooses from; without one, a
    clustering is made for this call."""
    taken = np.zeros(len(embeddings.item_ids), dtype=bool)
    rows = embeddings.rows_of(blocked)
    taken[rows[rows >= 0]] = True
    uncertain, clusters = None, None
    if scores is not None and strategy != "random":
        uncertain = pool_uncertainty(scores, embeddings, project, strategy)
        clusters = version_clusters(scores, embeddings, taken, n, rng, uncertain)
        if clusters is None:  # being clustered by another request: the most uncertain free
            free = np.flatnonzero(~taken)
            return embeddings.item_ids[free[top_k(uncertain[free], n)]].tolist()
    elif scores is None and cold_plan is not None:
        clusters = _planned(cold_plan, embeddings)
        if run_short(clusters, taken):
            clusters = None  # select_batch clusters the pool as it is now
    chosen = select_batch(
        uncertain,
        embeddings.vectors,
        n,
        rng,
        strategy,
        labeled=taken,
        clusters=clusters,
        by_rank=project.task.multilabel,  # its scores bunch: weighed by rank
    )
    return embeddings.item_ids[chosen].tolist()


def version_clusters(
    scores: Scores,
    embeddings: Embeddings,
    taken: np.ndarray,
    n: int,
    rng: np.random.Generator,
    uncertain: np.ndarray,
) -> Clusters | None:
    """The clustering the queue chooses from, made once per model version (and embedding set):
    clustering costs 0.1-0.3 s on a 100k-item pool, choosing from it a few ms. The training job
    stores it with the version's scores (`plan_version`). A version without one is clustered
    by the first request that finds it missing, and again when it runs short of free rows
    (`run_short`); requests arriving meanwhile do not wait for it (None: the caller picks by
    uncertainty alone). Until then only what is taken changes, and `select_batch` reads that
    from the mask."""
    key = ("clusters", id(embeddings), len(embeddings.item_ids))
    clusters = scores.derived.get(key)
    if clusters is None and scores.plan is not None:
        clusters = scores.derived[key] = _planned(scores.plan, embeddings)
    if clusters is not None and not run_short(clusters, taken):
        return clusters
    with _planning_guard:
        lock = _planning.setdefault((scores.version, key), threading.Lock())
    if not lock.acquire(blocking=False):
        return None
    try:
        clusters = scores.derived.get(key)
        if clusters is None or run_short(clusters, taken):
            clusters = scores.derived[key] = plan_batch(
                embeddings.vectors, taken, n, rng, uncertain
            )
        return clusters
    finally:
        lock.release()
        with _planning_guard:
            _planning.pop((scores.version, key), None)


def run_short(clusters: Clusters, taken: np.ndarray) -> bool:
    """Whether a clustering made earlier holds fewer than `REPLAN_FREE` free rows while the
    pool holds more. On a pool larger than `SAMPLE` it holds a sample of the free rows, which
    a team leasing more than that before the next version (a worker down, a slow training on
    a million items) would use up; the queue would then answer empty beside free items."""
    free_planned = int(np.count_nonzero(~taken[clusters.rows]))
    return free_planned < min(REPLAN_FREE, int(np.count_nonzero(~taken)))


def plan_version(
    embeddings: Embeddings, labeled: np.ndarray, uncertain: np.ndarray, rng: np.random.Generator
) -> ClusterPlan:
    """For the training job: the clustering the version's first queue request would make
    (`uncertain`: the new model's uncertainty of every embedded item, by the project's
    strategy)."""
    taken = np.zeros(len(embeddings.item_ids), dtype=bool)
    rows = embeddings.rows_of(labeled)
    taken[rows[rows >= 0]] = True
    clusters = plan_batch(embeddings.vectors, taken, QUEUE_BATCH, rng, uncertain)
    return ClusterPlan(
        embeddings.item_ids[clusters.rows], clusters.cluster, clusters.typical, clusters.k
    )


def _planned(plan: ClusterPlan, embeddings: Embeddings) -> Clusters:
    rows = embeddings.rows_of(plan.item_ids)
    kept = rows >= 0  # an item deleted since drops out
    return Clusters(rows[kept], plan.cluster[kept], plan.typical[kept], plan.k)


def plan_cold_start(embeddings: Embeddings, rng: np.random.Generator) -> ClusterPlan:
    """For the embed job: the clustering the queue chooses from before the first model, in
    `COLD_CLUSTERS` clusters (representative items: the most typical of the largest clusters
    first, and each further pick from the least covered one)."""
    taken = np.zeros(len(embeddings.item_ids), dtype=bool)
    clusters = plan_batch(embeddings.vectors, taken, COLD_CLUSTERS, rng)
    return ClusterPlan(
        embeddings.item_ids[clusters.rows], clusters.cluster, clusters.typical, clusters.k
    )
