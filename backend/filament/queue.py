"""Choosing the next items for an annotator and leasing them, so nobody gets them meanwhile."""

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from redis import Redis
from sqlmodel import Session, col, delete, func, select

from filament.artifacts import Embeddings, Scores
from filament.db.models import Annotation, Item, Lease, Project, utcnow
from filament.ml.strategies import select_batch, top_k
from filament.scoring import pool_uncertainty

CANDIDATE_FACTOR = 10
COLD_START_SAMPLE = 3000  # k-means runs on a sample of the pool so cold start stays fast


@dataclass
class Picked:
    item_ids: list[int]
    cold_start: bool


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


def leased_to_others(session: Session, project: Project, user_id: int) -> np.ndarray:
    """Items leased to enough other annotators right now."""
    leased = session.exec(
        select(Lease.item_id, func.count(), func.max(Item.n_annotations))
        .join(Item, col(Item.id) == Lease.item_id)
        .where(
            Lease.project_id == project.id,
            col(Lease.expires_at) > utcnow(),
            Lease.user_id != user_id,
        )
        .group_by(col(Lease.item_id))
    ).all()
    taken = [
        item_id
        for item_id, leases, n in leased
        if leases + (n or 0) >= project.annotations_per_item
    ]
    return np.array(taken, dtype=np.int64)


def my_leases(session: Session, project: Project, user_id: int) -> list[int]:
    return list(
        session.exec(
            select(Lease.item_id)
            .where(
                Lease.project_id == project.id,
                Lease.user_id == user_id,
                col(Lease.expires_at) > utcnow(),
            )
            .order_by(col(Lease.expires_at))
        ).all()
    )


def pick(
    embeddings: Embeddings,
    scores: Scores | None,
    project: Project,
    blocked: np.ndarray,
    n: int,
    strategy: str,
    rng: np.random.Generator,
) -> Picked:
    """The next `n` item ids by `strategy` among the embedded items not in `blocked`."""
    available = np.ones(len(embeddings.item_ids), dtype=bool)
    rows = embeddings.rows_of(blocked)
    available[rows[rows >= 0]] = False
    pool = np.flatnonzero(available)
    if len(pool) == 0 or n == 0:
        return Picked([], scores is None)
    if strategy == "random":
        chosen = rng.choice(pool, min(n, len(pool)), replace=False)
        return Picked(embeddings.item_ids[chosen].tolist(), scores is None)
    if scores is None:
        sample = (
            pool
            if len(pool) <= COLD_START_SAMPLE
            else np.sort(rng.choice(pool, COLD_START_SAMPLE, replace=False))
        )
        chosen = sample[select_batch(None, embeddings.vectors[sample], n, rng, strategy)]
        return Picked(embeddings.item_ids[chosen].tolist(), True)
    uncertain = pool_uncertainty(scores, embeddings, project, strategy)[pool]
    candidates = pool[top_k(uncertain, CANDIDATE_FACTOR * n)]
    order = select_batch(
        uncertain[np.searchsorted(pool, candidates)],
        embeddings.vectors[candidates],
        n,
        rng,
        strategy,
        candidate_factor=CANDIDATE_FACTOR,
    )
    return Picked(embeddings.item_ids[candidates[order]].tolist(), False)


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
    """Free the user's slot on an item (after they annotate it)."""
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


def lease(session: Session, project: Project, user_id: int, item_ids: list[int]) -> None:
    """Record the user's leases (the queue's own view; `claim` is what keeps annotators apart)."""
    now = utcnow()
    session.exec(
        delete(Lease).where(col(Lease.project_id) == project.id, col(Lease.expires_at) <= now)
    )
    session.exec(
        delete(Lease).where(col(Lease.user_id) == user_id, col(Lease.item_id).in_(item_ids))
    )
    expires = now + timedelta(seconds=project.lease_seconds)
    for item_id in item_ids:
        session.add(
            Lease(item_id=item_id, user_id=user_id, project_id=project.id or 0, expires_at=expires)
        )
    session.commit()
