"""Choosing the next items for an annotator and leasing them, so nobody gets them meanwhile."""

import threading
import time

import numpy as np
from redis import Redis
from sqlmodel import Session, col, select

from filament.artifacts import ClusterPlan, Embeddings, Scores
from filament.db.models import Annotation, Item, Project
from filament.ml.strategies import Clusters, plan_batch, select_batch
from filament.scoring import pool_uncertainty

QUEUE_BATCH = 10  # the queue's default `limit`: what a version's clustering is made for
_planning = threading.Lock()  # one clustering per version, not one per waiting request


def finished_items(session: Session, project: Project, user_id: int) -> np.ndarray:
    """Items the user must not get again: labeled often enough, or already labeled by them.
    (Changes only with annotations, so the API caches it by the project's change stamp.)"""
    done = session.exec(
        select(Item.id).where(
            Item.project_id == project.id, col(Item.n_annotations) >= project.annotations_per_item
        )
    ).all()
    mine = session.exec(
        select(Annotation.item_id).where(
            Annotation.project_id == project.id, Annotation.user_id == user_id
        )
    ).all()
    return np.array([*done, *mine], dtype=np.int64)


def leases_key(project_id: int, user_id: int) -> str:
    return f"filament:leases:{project_id}:{user_id}"


def claimed_key(project_id: int) -> str:
    return f"filament:claimed:{project_id}"


def my_leases(redis: Redis, project: Project, user_id: int) -> list[int]:
    """The user's unexpired leases, oldest first. Leases live in Redis: they are short-lived,
    and the queue then writes nothing to the database."""
    key = leases_key(project.id or 0, user_id)
    redis.zremrangebyscore(key, "-inf", time.time())
    return [int(item) for item in redis.zrange(key, 0, -1)]


def claimed_by_others(redis: Redis, project: Project, user_id: int, mine: list[int]) -> list[int]:
    """Items whose single annotator slot someone holds (with several annotators per item the
    slots themselves decide, in `claim`)."""
    if project.annotations_per_item > 1:
        return []
    key = claimed_key(project.id or 0)
    redis.zremrangebyscore(key, "-inf", time.time())
    held = set(mine)
    return [int(item) for item in redis.zrange(key, 0, -1) if int(item) not in held]


def pick(
    embeddings: Embeddings,
    scores: Scores | None,
    project: Project,
    blocked: np.ndarray,
    n: int,
    strategy: str,
    rng: np.random.Generator,
) -> list[int]:
    """The next `n` item ids by `strategy` among the embedded items not in `blocked` (which
    count as covered: `select_batch` steers away from what is labeled or taken)."""
    taken = np.zeros(len(embeddings.item_ids), dtype=bool)
    rows = embeddings.rows_of(blocked)
    taken[rows[rows >= 0]] = True
    uncertain, clusters = None, None
    if scores is not None and strategy != "random":
        uncertain = pool_uncertainty(scores, embeddings, project, strategy)
        clusters = version_clusters(scores, embeddings, taken, n, rng, uncertain)
    chosen = select_batch(
        uncertain, embeddings.vectors, n, rng, strategy, labeled=taken, clusters=clusters
    )
    return embeddings.item_ids[chosen].tolist()


def version_clusters(
    scores: Scores,
    embeddings: Embeddings,
    taken: np.ndarray,
    n: int,
    rng: np.random.Generator,
    uncertain: np.ndarray,
) -> Clusters:
    """The clustering the queue chooses from, made once per model version (and embedding set):
    clustering costs 0.1-0.3 s on a 100k-item pool, choosing from it a few ms. The training job
    stores it with the version's scores (`plan_version`); versions without one are clustered on
    their first request. Until the next version only what is taken changes, and `select_batch`
    reads that from the mask. (Before the first model the clustering is small, k = labels + n,
    and made per request.)"""
    key = ("clusters", id(embeddings), len(embeddings.item_ids))
    clusters = scores.derived.get(key)
    if clusters is None:
        with _planning:
            clusters = scores.derived.get(key)
            if clusters is None:
                if scores.plan is not None:
                    clusters = _planned(scores.plan, embeddings)
                else:
                    clusters = plan_batch(embeddings.vectors, taken, n, rng, uncertain)
                scores.derived[key] = clusters
    return clusters


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


def claim_key(project_id: int, item_id: int, slot: int) -> str:
    return f"filament:claim:{project_id}:{item_id}:{slot}"


def claim(
    redis: Redis,
    project: Project,
    user_id: int,
    item_ids: list[int],
    free_slots: dict[int, int],
    most: int,
) -> list[int]:
    """Take one free annotator slot on up to `most` of the items, in their order, atomically
    per slot (Redis SET NX, expiring with the lease). Of two annotators racing for an item's
    last slot one wins and the other moves on, with no lock around the whole queue."""
    plan = [(item, slot) for item in item_ids for slot in range(free_slots.get(item, 1))]
    pipe = redis.pipeline(transaction=False)
    for item, slot in plan:
        pipe.set(claim_key(project.id or 0, item, slot), user_id, nx=True, ex=project.lease_seconds)
    won: dict[int, int] = {}
    surplus = []
    for (item, slot), ok in zip(plan, pipe.execute(), strict=True):
        if not ok:
            continue
        if item in won:
            surplus.append(claim_key(project.id or 0, item, slot))  # one slot per annotator
        else:
            won[item] = slot
    kept = [item for item in item_ids if item in won][:most]
    surplus += [claim_key(project.id or 0, item, won[item]) for item in won if item not in kept]
    if surplus:
        redis.delete(*surplus)
    return kept


def release_claims(redis: Redis, project: Project, user_id: int, item_id: int) -> None:
    """End the user's lease on an item and free their slot (after they annotate it)."""
    redis.zrem(leases_key(project.id or 0, user_id), item_id)
    redis.zrem(claimed_key(project.id or 0), item_id)
    for slot in range(project.annotations_per_item):
        key = claim_key(project.id or 0, item_id, slot)
        if redis.get(key) == str(user_id).encode():
            redis.delete(key)


def free_slots(session: Session, project: Project, item_ids: list[int]) -> dict[int, int]:
    """How many more annotators each item takes (1 for all with one annotation per item)."""
    if project.annotations_per_item == 1:
        return dict.fromkeys(item_ids, 1)
    counts = session.exec(
        select(Item.id, Item.n_annotations).where(col(Item.id).in_(item_ids))
    ).all()
    return {item_id: max(project.annotations_per_item - n, 0) for item_id, n in counts}


def lease(
    redis: Redis, project: Project, user_id: int, item_ids: list[int], renewed: list[int]
) -> None:
    """Record the user's leases on `item_ids`, expiring after the project's lease time. Of
    those, `renewed` were leased before: their annotator slots are kept for as long too (a
    renewed lease whose slot expired could be given to one annotator too many); slots just
    claimed already expire with the lease."""
    if not item_ids:
        return
    expires = time.time() + project.lease_seconds
    project_id = project.id or 0
    slots = [
        claim_key(project_id, item, slot)
        for item in renewed
        for slot in range(project.annotations_per_item)
    ]
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(leases_key(project_id, user_id), dict.fromkeys(map(str, item_ids), expires))
    pipe.expire(leases_key(project_id, user_id), project.lease_seconds)
    pipe.zadd(claimed_key(project_id), dict.fromkeys(map(str, item_ids), expires))
    if slots:
        pipe.mget(slots)
    answers = pipe.execute()
    if not slots:
        return
    me = str(user_id).encode()
    held = [key for key, holder in zip(slots, answers[-1], strict=True) if holder == me]
    if held:
        pipe = redis.pipeline(transaction=False)
        for key in held:
            pipe.expire(key, project.lease_seconds)
        pipe.execute()
