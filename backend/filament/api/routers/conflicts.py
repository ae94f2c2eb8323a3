"""Conflicts: items whose annotators disagree, listed for review, and the reviewers' resolutions
(filament.labeling.consensus says how a final label is decided)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from filament.api.deps import ProjectReviewer, SessionDep, SettingsDep, StorageDep
from filament.api.enqueue import labels_changed
from filament.api.params import MAX_ID, ItemId
from filament.cache import cached
from filament.db.models import (
    Annotation,
    AnnotationSource,
    Dataset,
    DecidedBy,
    Item,
    Page,
    Prediction,
    Resolution,
    ResolutionCreate,
    ResolutionPublic,
    User,
)
from filament.labeling import resolutions
from filament.labeling.consensus import FinalLabel, Vote, decide, open_conflicts
from filament.labeling.items import get_item
from filament.models.pool_scores import active_scores, predictions_for

router = APIRouter(prefix="/projects/{project_id}", tags=["conflicts"])


class AnnotatorLabels(BaseModel):
    user_id: int | None
    name: str = Field(description="the annotator's name, or email ('deleted user' if gone)")
    email: str | None
    labels: list[str]
    source: AnnotationSource
    created_at: datetime


class ConflictItem(BaseModel):
    id: int
    name: str
    kind: str
    text: str | None = None
    dataset: str | None = None
    annotations: list[AnnotatorLabels]
    labels: list[str] | None = Field(description="the final label now; null for a tie")
    decided_by: DecidedBy
    agreement: float | None = Field(description="share of annotators agreeing with the label")
    conflict: bool
    prediction: Prediction | None = None
    uncertainty: float | None = None
    resolution: ResolutionPublic | None = None


class ResolutionResult(ResolutionPublic):
    annotations_disagree: bool = Field(
        description="whether the item's annotations differ; an item without a conflict may be "
        "resolved too (its resolution is its final label all the same)"
    )
    detail: str


def resolution_public(resolution: Resolution, reviewer: str | None) -> ResolutionPublic:
    return ResolutionPublic(**resolution.model_dump(), user_name=reviewer)


@router.get("/conflicts")
def list_conflicts(
    request: Request,
    reviewer: ProjectReviewer,
    session: SessionDep,
    storage: StorageDep,
    resolved: Annotated[
        bool, Query(description="false: open conflicts; true: items a reviewer resolved")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="keyset paging: items with ids above this")
    ] = None,
) -> Page[ConflictItem]:
    """Open conflicts in item order, each with every annotator's labels (by name), the final
    label as it stands, the active model's prediction and the item's content; with
    `resolved=true`, the resolved items with their resolution (to reopen one)."""
    project = reviewer.project
    chosen = (
        select(Resolution.item_id).where(Resolution.project_id == reviewer.id)
        if resolved
        else open_conflicts(reviewer.id)
    )
    query = select(Item.id).where(Item.project_id == reviewer.id, col(Item.id).in_(chosen))
    count = cached(
        request.app.state.redis,
        reviewer.id,
        ("conflicts", resolved),
        lambda: session.exec(select(func.count()).select_from(query.subquery())).one(),
    )
    if after is not None:
        query = query.where(col(Item.id) > after)
    ids = list(session.exec(query.order_by(col(Item.id)).limit(limit)).all())
    predictions = predictions_for(active_scores(session, storage, project), project, ids)
    data = []
    for row, annotators, resolution in _page(session, ids):
        final = decide(
            project.labels,
            project.task.multilabel,
            [Vote(a.user_id, a.labels, a.source) for a in annotators],
            resolution.labels if resolution else None,
        )
        assert final is not None
        item = ConflictItem(
            id=row.id,
            name=row.name,
            kind=row.kind,
            text=row.text,
            dataset=row.dataset,
            annotations=annotators,
            labels=final.labels,
            decided_by=final.decided_by,
            agreement=final.agreement,
            conflict=final.conflict,
            resolution=resolution,
        )
        if row.id in predictions:
            item.prediction, item.uncertainty = predictions[row.id]
        data.append(item)
    return Page(data=data, count=count)


def _page(
    session: Session, ids: list[int]
) -> list[tuple[Any, list[AnnotatorLabels], ResolutionPublic | None]]:
    """The items of `ids` with their annotators' labels and their resolution, in id order."""
    if not ids:
        return []
    items = session.exec(
        select(Item.id, Item.name, Item.kind, Item.text, col(Dataset.name).label("dataset"))
        .join(Dataset)
        .where(col(Item.id).in_(ids))
        .order_by(col(Item.id))
    ).all()
    annotators: dict[int, list[AnnotatorLabels]] = {item_id: [] for item_id in ids}
    for annotation, name, email in session.exec(
        select(Annotation, User.name, User.email)
        .outerjoin(User, col(User.id) == Annotation.user_id)
        .where(col(Annotation.item_id).in_(ids))
        .order_by(col(Annotation.id))
    ):
        annotators[annotation.item_id].append(
            AnnotatorLabels(
                user_id=annotation.user_id,
                name=name or email or "deleted user",
                email=email,
                labels=annotation.labels,
                source=annotation.source,
                created_at=annotation.created_at,
            )
        )
    decided = {
        resolution.item_id: resolution_public(resolution, name or email)
        for resolution, name, email in session.exec(
            select(Resolution, User.name, User.email)
            .outerjoin(User, col(User.id) == Resolution.user_id)
            .where(col(Resolution.item_id).in_(ids))
        )
    }
    return [(item, annotators[item.id], decided.get(item.id)) for item in items]


def _outcome(before: FinalLabel) -> str:
    again = before.decided_by == DecidedBy.review
    replaced = " (it replaces the earlier resolution)" if again else ""
    if before.disagree:
        return f"Resolved between {before.annotators} annotators who disagree{replaced}"
    if before.annotators == 0:
        had = "no annotations left"
    elif before.annotators == 1:
        had = "one annotation"
    else:
        had = f"{before.annotators} annotators who agree"
    return (
        f"This item had no conflict ({had}); the resolution is its final label all the same"
        + replaced
    )


@router.post("/items/{item_id}/resolution", status_code=status.HTTP_201_CREATED)
def resolve_item(
    item_id: ItemId,
    body: ResolutionCreate,
    request: Request,
    reviewer: ProjectReviewer,
    session: SessionDep,
    settings: SettingsDep,
) -> ResolutionResult:
    """Decide the item's label (owners and reviewers). The annotations stay as they are; the
    resolution is what the model trains on and the export carries, and the model retrains."""
    item = get_item(session, reviewer.id, item_id)
    assert reviewer.user.id is not None
    resolution, before = resolutions.resolve(
        session, reviewer.project, item, reviewer.user.id, body.labels
    )
    labels_changed(request, reviewer.id, settings)
    public = resolution_public(resolution, reviewer.user.name or reviewer.user.email)
    return ResolutionResult(
        **public.model_dump(), annotations_disagree=before.disagree, detail=_outcome(before)
    )


@router.delete("/items/{item_id}/resolution", status_code=status.HTTP_204_NO_CONTENT)
def reopen_item(
    item_id: ItemId,
    request: Request,
    reviewer: ProjectReviewer,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Reopen: delete the item's resolution; if its annotators disagree it is a conflict again."""
    item = get_item(session, reviewer.id, item_id)
    if not resolutions.reopen(session, item, reviewer.user.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="This item has no resolution")
    labels_changed(request, reviewer.id, settings)
