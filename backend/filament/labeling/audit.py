"""The audit share: a few served items drawn uniformly at random, so the model can be judged.

Labels the queue chooses are not a sample of the pool (it picks uncertain, unusual items), so
cross-validation on them is biased. A small share of what the queue serves is drawn uniformly
from the unlabeled, unclaimed pool instead; those items are marked (``Item.audit``) and their
out-of-fold predictions give held-out figures with intervals. The annotator sees them like any
other item. Audit draws are held with the same claim as every other pick
(`filament.labeling.leases.claim`), so an item is never served twice.
"""

import numpy as np
from redis import Redis
from sqlmodel import Session, col, func, select, update

from filament.cache import cached
from filament.db.models import Item, Project
from filament.labeling import leases, overlap
from filament.models.artifacts import Embeddings

AUDIT_EARLY_LABELS = 100  # audit labels after which the share drops to `audit_share_later`


def audit_label_count(session: Session, project_id: int) -> int:
    """Audit items that carry at least one label."""
    return session.exec(
        select(func.count()).where(
            Item.project_id == project_id, col(Item.audit), col(Item.n_annotations) > 0
        )
    ).one()


def audit_share(project: Project, audit_labels: int) -> float:
    """The share of served items to draw for auditing, given the audit labels so far."""
    if audit_labels < AUDIT_EARLY_LABELS:
        return project.audit_share
    return project.audit_share_later


def labeled_items(session: Session, project: Project) -> np.ndarray:
    """Items with any label. With one annotation per item these are already among the queue's
    finished items; with several (or an overlap share), a half-annotated item was chosen by the
    queue and is not a random draw any more."""
    if overlap.most_wanted(project) == 1:
        return np.zeros(0, dtype=np.int64)
    ids = session.exec(
        select(Item.id).where(Item.project_id == project.id, col(Item.n_annotations) > 0)
    ).all()
    return np.array(ids, dtype=np.int64)


AUDIT_DRAW_ROUNDS = 8  # rounds of uniform draws before the exact set difference


def draw_audit(
    embeddings: Embeddings,
    blocked: np.ndarray,
    wanted: int,
    share: float,
    rng: np.random.Generator,
    spare: int = 2,
) -> tuple[int, list[int]]:
    """``(count, candidates)`` for a request that serves ``wanted`` new items: each of them is
    an audit draw with probability ``share`` (so the share holds on average over requests,
    whatever their size), drawn uniformly among the embedded items not in ``blocked``
    (finished, labeled, claimed or held). ``spare`` times as many candidates come back in a
    random order, so losing a claim race leaves others to try; the caller keeps the first
    ``count`` it wins."""
    count = audit_count(wanted, share, rng)
    if count == 0:
        return 0, []
    pool, blocked = embeddings.item_ids, np.unique(blocked)
    if len(pool) == 0:  # nothing embedded yet
        return 0, []
    want = count * spare
    if len(blocked) <= len(pool) // 2:
        drawn = _draw_by_rejection(pool, blocked, want, rng)
        if drawn is not None:
            return count, drawn
    free = np.setdiff1d(pool, blocked)  # mostly blocked: the exact free set is small enough
    if len(free) == 0:
        return 0, []
    chosen = rng.choice(free, size=min(len(free), want), replace=False)
    return count, [int(item) for item in chosen]


def _draw_by_rejection(
    pool: np.ndarray, blocked: np.ndarray, want: int, rng: np.random.Generator
) -> list[int] | None:
    """``want`` distinct items of ``pool`` outside ``blocked`` (sorted), uniformly, in random
    order: uniform draws from the whole pool, keeping each free item the first time it comes
    (the same distribution as drawing from the free items without replacement). The set
    difference it avoids sorts the whole pool: 1 s per request on a million items, where
    this takes microseconds while at least half the pool is free. None after a few rounds
    without enough (few free items: the caller takes the exact way)."""
    chosen: list[int] = []
    seen: set[int] = set()
    for _ in range(AUDIT_DRAW_ROUNDS):
        items = pool[rng.integers(0, len(pool), size=2 * want + 8)]
        if len(blocked):
            at = np.minimum(np.searchsorted(blocked, items), len(blocked) - 1)
            items = items[blocked[at] != items]
        for item in items.tolist():
            if item not in seen:
                seen.add(item)
                chosen.append(item)
                if len(chosen) == want:
                    return chosen
    return None


def audit_count(wanted: int, share: float, rng: np.random.Generator) -> int:
    """How many of ``wanted`` served items are audit draws: binomial, so small requests get
    their fair share too (rounding ``wanted * share`` would give a page of 5 none at 10 %)."""
    if wanted <= 0 or share <= 0:
        return 0
    return int(rng.binomial(wanted, min(share, 1.0)))


def mark_audit(session: Session, item_ids: list[int]) -> None:
    """Record that these items were drawn for auditing (the caller commits)."""
    if item_ids:
        session.exec(update(Item).where(col(Item.id).in_(item_ids)).values(audit=True))


def serve_audit(
    session: Session,
    redis: Redis,
    project: Project,
    user_id: int,
    embeddings: Embeddings,
    blocked: np.ndarray,
    wanted: int,
    rng: np.random.Generator,
) -> list[int]:
    """The audit part of a queue request for ``wanted`` new items: drawn (``draw_audit``),
    held with the queue's own claim (so an item is never served twice), and marked.
    ``blocked``: what the queue would not serve (finished, held by others or by the caller)."""
    project_id = project.id or 0
    labels = cached(  # the share changes at 100 audit labels: a count 0.5 s old will do
        redis,
        project_id,
        ("audit_labels",),
        lambda: audit_label_count(session, project_id),
        stale_for=0.5,
    )
    blocked = np.concatenate([blocked, labeled_items(session, project)])
    count, candidates = draw_audit(embeddings, blocked, wanted, audit_share(project, labels), rng)
    won = leases.claim(redis, session, project, user_id, candidates, count)
    if won:
        mark_audit(session, won)
        session.commit()
    return won
