"""The labeling queue: the next items for an annotator, leased to them."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from filament.api.deps import ProjectWriter, SessionDep, StorageDep
from filament.api.params import MAX_ID, ItemId
from filament.db.models import Item, ItemPublic, Project
from filament.labeling import annotations, queue
from filament.labeling.items import get_item
from filament.ml.strategies import STRATEGIES
from filament.models.artifacts import Scores
from filament.models.pool_scores import predictions_for
from filament.quality.listing import add_duplicate_counts

router = APIRouter(prefix="/projects/{project_id}", tags=["queue"])


class QueuePage(BaseModel):
    data: list[ItemPublic]
    strategy: str
    cold_start: bool
    reason: str | None = None  # why the page is empty: nothing embedded yet, all done, all leased


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
    `exclude`), then (with several annotators per item) items waiting for another annotator,
    then new items chosen by the strategy (default: the project's). An empty page says why."""
    project = writer.project
    strategy = strategy or project.strategy
    if strategy not in STRATEGIES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}",
        )
    served = queue.next_items(
        session,
        request.app.state.redis,
        storage,
        project,
        writer.user.id or 0,
        limit,
        strategy,
        _parse_ids(exclude),
    )
    data = _items_public(session, project, served.item_ids, served.scores)
    add_duplicate_counts(storage, project, data)  # the labeler offers their label with one key
    return QueuePage(
        data=data,
        strategy=strategy,
        cold_start=served.scores is None,
        reason=served.reason,
    )


@router.post("/queue/{item_id}/skip", status_code=status.HTTP_204_NO_CONTENT)
def skip_item(
    item_id: ItemId, request: Request, writer: ProjectWriter, session: SessionDep
) -> None:
    """Pass the item up (S in the labeler): the caller's hold on it ends now, so another
    annotator may be served it at once; the caller is not served it again for an hour. The
    skip counts in the per-annotator figures."""
    item = get_item(session, writer.id, item_id)
    annotations.skip(session, request.app.state.redis, writer.project, writer.user.id or 0, item)


def _parse_ids(text: str | None) -> set[int]:
    if not text:
        return set()
    try:
        ids = {int(part) for part in text.split(",") if part.strip()}
        # ids past the database's INTEGER name no item (and overflow int64 arrays: a 500)
        if any(not 1 <= item_id <= MAX_ID for item_id in ids):
            raise ValueError("out of range")
        return ids
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="exclude must be comma-separated item ids"
        ) from error
