"""The labeling queue: the next items for an annotator, leased to them."""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from filament.api.cache import cached
from filament.api.deps import ProjectWriter, SessionDep, StorageDep
from filament.artifacts import Scores, load_embeddings
from filament.db.models import (
    Item,
    ItemPublic,
    Project,
)
from filament.ml.strategies import STRATEGIES
from filament.queue import (
    claim,
    claimed_by_others,
    finished_items,
    free_slots,
    lease,
    my_leases,
    pick,
)
from filament.scoring import active_scores, predictions_for

router = APIRouter(prefix="/projects/{project_id}", tags=["queue"])
CLAIM_ROUNDS = 5


class QueuePage(BaseModel):
    data: list[ItemPublic]
    strategy: str
    cold_start: bool


def _items_public(
    session: Session, project: Project, ids: list[int], scores: Scores | None
) -> list[ItemPublic]:
    # plain columns, not ORM objects (a third of this request's time went into building them)
    rows = {
        row.id: row
        for row in session.exec(
            select(Item.id, Item.name, Item.kind, Item.text).where(col(Item.id).in_(ids))
        )
    }
    predictions = predictions_for(scores, project, ids)
    answer = []
    for item_id in ids:
        row = rows.get(item_id)
        if row is None:
            continue  # deleted since it was embedded
        public = ItemPublic(id=item_id, name=row.name, kind=row.kind, text=row.text)
        if item_id in predictions:
            public.prediction, public.uncertainty = predictions[item_id]
        answer.append(public)
    return answer


@router.get("/queue")
def next_items(
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    strategy: Annotated[str | None, Query(description=f"one of {', '.join(STRATEGIES)}")] = None,
    exclude: Annotated[
        str | None, Query(description="comma-separated ids the client holds")
    ] = None,
) -> QueuePage:
    """The next items to label, leased to the caller: first their own unexpired leases (minus
    `exclude`), then new items chosen by the strategy (default: the project's)."""
    project = writer.project
    strategy = strategy or project.strategy
    if strategy not in STRATEGIES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}",
        )
    held = _parse_ids(exclude)
    user_id = writer.user.id or 0
    scores = active_scores(session, storage, project)
    redis = request.app.state.redis
    mine = [i for i in my_leases(redis, project, user_id) if i not in held][:limit]
    finished = cached(
        redis,
        writer.id,
        ("finished", user_id, project.annotations_per_item),
        lambda: finished_items(session, project, user_id),
    )
    blocked = np.concatenate(
        [
            finished,
            np.array(claimed_by_others(redis, project, user_id, mine), dtype=np.int64),
            np.array([*held, *mine], dtype=np.int64),
        ]
    )
    embeddings = load_embeddings(storage, writer.id, project.embedding_version)
    rng = np.random.default_rng([user_id, len(blocked), int(project.id or 0)])
    won: list[int] = []
    for round_ in range(CLAIM_ROUNDS):
        # annotators asking at the same moment compute the same picks and race for them: the
        # losers pick again among twice as many, so they spread out instead of racing again
        wanted = limit - len(mine) - len(won)
        if wanted <= 0:
            break
        candidates = pick(embeddings, scores, project, blocked, wanted << round_, strategy, rng)
        if not candidates:
            break
        slots = free_slots(session, project, candidates)
        won += claim(redis, project, user_id, candidates, slots, wanted)
        blocked = np.concatenate([blocked, np.array(candidates, dtype=np.int64)])
    ids = mine + won
    lease(redis, project, user_id, ids, renewed=mine)
    return QueuePage(
        data=_items_public(session, project, ids, scores),
        strategy=strategy,
        cold_start=scores is None,
    )


def _parse_ids(text: str | None) -> set[int]:
    if not text:
        return set()
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="exclude must be comma-separated item ids"
        ) from error
