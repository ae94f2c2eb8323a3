"""Quality tools: likely label errors, near-duplicates, "more like this", the label forecast and
stop advice (`filament.quality`)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from filament.api.deps import ProjectMemberDep, ProjectWriter, SessionDep, SettingsDep, StorageDep
from filament.api.enqueue import labels_changed
from filament.api.params import ItemId, Offset
from filament.core.errors import Unprocessable
from filament.labeling.items import get_item
from filament.labeling.labels import checked_labels
from filament.models.pool_scores import active_model, active_scores
from filament.quality import duplicates, forecast, listing, neighbours, stopping
from filament.quality.shapes import (
    DuplicateGroup,
    DuplicateLabel,
    DuplicatesLabeled,
    ForecastAnswer,
    LabelIssuePage,
    SimilarItem,
    SimilarPage,
    SimilarText,
    StopAdvice,
)
from filament.uploads.ingest import UploadRefused, check_text_length

router = APIRouter(prefix="/projects/{project_id}", tags=["quality"])
SEARCH_SPARE = 20  # neighbours fetched beyond the limit, for items deleted since embedding


@router.get("/label-issues")
def label_issues(
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> LabelIssuePage:
    """Labeled items whose label the active model's out-of-fold predictions dispute (confident
    learning), surest error first: "the model thinks X; N annotators said Y"."""
    project = member.project
    return listing.label_issue_page(
        session,
        storage,
        project,
        active_model(session, member.id),
        active_scores(session, storage, project),
        limit,
        offset,
    )


def _similar_page(
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    found: list[tuple[int, float]],
    embedded: int,
    limit: int,
) -> SimilarPage:
    project = member.project
    scores = active_scores(session, storage, project)
    items = listing.public_items(session, storage, project, scores, [i for i, _ in found])
    cosine = dict(found)
    return SimilarPage(
        data=[
            SimilarItem(item=item, similarity=round(cosine[item.id], 4)) for item in items[:limit]
        ],
        embedded=embedded,
    )


@router.get("/items/{item_id}/similar")
def similar_items(
    item_id: ItemId,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> SimilarPage:
    """More like this: the items nearest to this one in embedding space (cosine)."""
    get_item(session, member.id, item_id)
    found, embedded = neighbours.similar_to_item(
        storage, member.project, item_id, limit + SEARCH_SPARE
    )
    return _similar_page(member, session, storage, found, embedded, limit)


@router.post("/similar")
def similar_to_text(
    body: SimilarText,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> SimilarPage:
    """More like a typed text (text projects): encoded by the project's backbone, as items are."""
    try:
        check_text_length(body.text, "text", settings.max_text_chars)
    except UploadRefused as error:
        raise Unprocessable(str(error)) from error
    found, embedded = neighbours.similar_to_text(
        storage, member.project, body.text, body.limit + SEARCH_SPARE, settings.weights_dir
    )
    return _similar_page(member, session, storage, found, embedded, body.limit)


@router.get("/items/{item_id}/duplicates")
def item_duplicates(
    item_id: ItemId,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DuplicateGroup:
    """The item's near-duplicates: embeddings at or above FILAMENT_NEAR_DUPLICATE_COSINE."""
    get_item(session, member.id, item_id)
    project = member.project
    groups = listing.current_groups(storage, project)
    items = listing.public_items(
        session,
        storage,
        project,
        active_scores(session, storage, project),
        groups.members(item_id).tolist(),
    )
    return DuplicateGroup(item_id=item_id, threshold=settings.near_duplicate_cosine, data=items)


@router.post("/items/{item_id}/duplicates/label")
def label_duplicates(
    item_id: ItemId,
    body: DuplicateLabel,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DuplicatesLabeled:
    """Give the item's near-duplicates these labels in one call, recorded as the caller's
    annotations with source `duplicate`. Each is claimed as the queue would serve it: ones the
    caller labeled already, or that have all the annotators they want, are skipped."""
    item = get_item(session, writer.id, item_id)
    labels = checked_labels(writer.project, body.labels)
    labeled, skipped = duplicates.label_duplicates(
        session,
        request.app.state.redis,
        storage,
        writer.project,
        writer.user.id or 0,
        item,
        labels,
        settings.near_duplicate_cosine,
    )
    if labeled:
        labels_changed(request, writer.id, settings)
    return DuplicatesLabeled(labeled=labeled, skipped=skipped)


@router.get("/forecast")
def label_forecast(
    member: ProjectMemberDep,
    session: SessionDep,
    target: Annotated[
        float | None,
        Query(gt=0, lt=1, description="the figure to reach; default: a point below the ceiling"),
    ] = None,
) -> ForecastAnswer:
    """About how many more labels to reach ``target`` (or that the curve has flattened): an
    inverse power law fitted to the audited learning curve, with a bootstrap interval."""
    return forecast.project_forecast(session, member.project, target)


@router.get("/stop-advice")
def stop_advice(member: ProjectMemberDep, session: SessionDep, storage: StorageDep) -> StopAdvice:
    """Whether the model has stopped changing: kappa between successive checks' predictions on
    a fixed random stop set (Bloodgood & Vijay-Shanker 2009), with its history."""
    return stopping.stop_advice(session, storage, member.project)
