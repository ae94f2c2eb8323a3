import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import String, cast, exists
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from filament import jobs
from filament.api.body_limits import large_body
from filament.api.deps import (
    Membership,
    ProjectMemberDep,
    ProjectOwner,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from filament.api.enqueue import enqueue
from filament.api.params import MAX_ID, ItemId, Offset
from filament.cache import cached
from filament.db.models import (
    Annotation,
    AnnotationPublic,
    Dataset,
    Item,
    ItemDetail,
    ItemPublic,
    ItemSort,
    Page,
    Project,
    QualityView,
    Resolution,
    ResolutionPublic,
    User,
)
from filament.labeling.consensus import FinalLabel, final_labels, open_conflicts
from filament.labeling.items import get_item
from filament.models.artifacts import Scores
from filament.models.pool_scores import active_scores, predicted_mask, predictions_for
from filament.quality import browse, listing
from filament.storage import Storage
from filament.uploads.ingest import UploadRefused, check_upload
from filament.uploads.upload_jobs import start_upload, upload_key

router = APIRouter(prefix="/projects/{project_id}/items", tags=["items"])


class UploadedFile(BaseModel):
    name: str
    size: int


class UploadAccepted(BaseModel):
    job_id: int
    dataset: str
    files: list[UploadedFile]
    warnings: list[str] = Field(
        default_factory=list,
        description="accepted files that will add nothing (a CSV with only its header)",
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED, openapi_extra=large_body("upload"))
def upload_items(
    request: Request,
    owner: ProjectOwner,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    files: Annotated[
        list[UploadFile],
        File(
            min_length=1,
            description="images, .zip of images, .csv/.jsonl; or another tool's export: a "
            "Label Studio JSON export (or a zip of it with its images), a zipped Hugging Face "
            "`save_to_disk` directory",
        ),
    ],
    dataset: Annotated[str, Form(min_length=1, max_length=200)] = "default",
) -> UploadAccepted:
    """Store the files and start an ingest job; what is wrong on sight is refused here."""
    problems, kinds, warnings = [], [], []
    for upload in files:
        try:
            checked = check_upload(
                upload.file,
                upload.filename or "upload",
                owner.project.task,
                settings.max_archive_expansion_bytes,
                settings.max_archive_ratio,
                owner.project.labels,
            )
            kinds.append(checked.kind)
            if checked.warning:
                warnings.append(checked.warning)
        except UploadRefused as error:
            problems.append(str(error))
    if problems:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="; ".join(problems))
    target, job = start_upload(session, owner.id, owner.user.id, dataset, "waiting for a worker")
    stored = []
    for number, (upload, kind) in enumerate(zip(files, kinds, strict=True)):
        name = upload.filename or f"upload-{number}"
        key = upload_key(owner.id, job.id or 0, number, name)
        size = storage.put_stream(key, upload.file)
        stored.append({"key": key, "name": name, "kind": kind, "size": size})
    job.params = {"dataset_id": target.id, "files": stored}
    session.add(job)
    session.commit()
    assert job.id is not None
    enqueue(request, jobs.INGEST, job.id, job_id=f"{jobs.INGEST}:{job.id}")
    return UploadAccepted(
        job_id=job.id,
        dataset=target.name,
        files=[UploadedFile(name=f["name"], size=f["size"]) for f in stored],
        warnings=warnings,
    )


# the columns a listing shows: an `Item` or a row selected with these columns both carry them
LISTED = (Item.id, Item.name, Item.kind, Item.text, Item.status, Item.n_annotations)


def item_public(item: Any, dataset: str | None, final: FinalLabel | None = None) -> ItemPublic:
    return ItemPublic(
        id=item.id or 0,
        name=item.name,
        kind=item.kind,
        text=item.text,
        dataset=dataset,
        status="labeled" if item.n_annotations else str(item.status),
        labels=final.labels if final else None,
        decided_by=final.decided_by if final else None,
        conflict=final.conflict if final else False,
    )


@router.get("")
def list_items(
    request: Request,
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    status_: Annotated[
        str | None,
        Query(
            alias="status",
            pattern="^(labeled|unlabeled|conflict)$",
            description="conflict: annotations that differ and no resolution (a labeled item)",
        ),
    ] = None,
    dataset: str | None = None,
    label: str | None = None,
    predicted: str | None = None,
    annotator: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Offset = 0,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_ID, description="keyset paging: items with ids above this (no offset)"),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            pattern=f"^-?({'|'.join(ItemSort)})$",
            description="order by the active model's figure (-key: descending); pages by offset",
        ),
    ] = None,
    quality: Annotated[QualityView | None, Query(description="a preset quality view")] = None,
) -> Page[ItemPublic]:
    project = member.project
    # filters and paging on ids alone (index-only), then one fetch of the page's rows
    query = select(Item.id).where(Item.project_id == member.id)
    if status_ == "labeled":
        query = query.where(col(Item.n_annotations) > 0)
    elif status_ == "unlabeled":
        query = query.where(col(Item.n_annotations) == 0)
    elif status_ == "conflict":
        query = query.where(col(Item.id).in_(open_conflicts(member.id)))
    if dataset:
        query = query.where(
            Item.dataset_id
            == select(Dataset.id)
            .where(Dataset.project_id == member.id, Dataset.name == dataset)
            .scalar_subquery()
        )
    if q:
        query = query.where(col(Item.text).contains(q) | col(Item.name).contains(q))
    if label or annotator is not None:
        annotated = select(Annotation.id).where(Annotation.item_id == Item.id)
        if label:
            annotated = annotated.where(
                cast(col(Annotation.labels), String).contains(json.dumps(label))
            )
        if annotator is not None:
            annotated = annotated.where(Annotation.user_id == annotator)
        query = query.where(exists(annotated))
    scores = active_scores(session, storage, project)
    if predicted:
        query = _filter_predicted(query, scores, project, predicted)
    if sort or quality:
        return _ordered_page(
            request, member, session, storage, query, scores, sort, quality, limit, offset, after
        )
    count_key = (
        "items",
        status_,
        dataset,
        label,
        annotator,
        q,
        predicted,
        scores and scores.version,
    )
    count = cached(
        request.app.state.redis,
        member.id,
        count_key,
        lambda: session.exec(select(func.count()).select_from(query.subquery())).one(),
    )
    page = query.where(col(Item.id) > after) if after is not None else query.offset(offset)
    ids = list(session.exec(page.order_by(col(Item.id)).limit(limit)).all())
    # plain columns, not ORM objects: building 50 tracked instances cost more than the query
    rows = session.exec(
        select(*LISTED, col(Dataset.name).label("dataset"))
        .join(Dataset)
        .where(col(Item.id).in_(ids))
        .order_by(col(Item.id))
    ).all()
    finals = final_labels(session, project, ids)
    predictions = predictions_for(scores, project, ids)
    data = []
    for row in rows:
        public = item_public(row, row.dataset, finals.get(row.id))
        if row.id in predictions:
            public.prediction, public.uncertainty = predictions[row.id]
        data.append(public)
    listing.enrich(session, storage, project, scores, data)
    return Page(data=data, count=count)


def _ordered_page(
    request: Request,
    member: Membership,
    session: Session,
    storage: Storage,
    query: Select[tuple[int]],
    scores: Scores | None,
    sort: str | None,
    quality: QualityView | None,
    limit: int,
    offset: int,
    after: int | None,
) -> Page[ItemPublic]:
    """A page of the items the filters leave, in the order of `sort` / the preset view
    (`filament.quality.browse`); paged by offset."""
    if after is not None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail="after pages in id order; with sort or quality, page with offset",
        )
    redis = request.app.state.redis
    view = browse.view_ids(session, redis, storage, member.project, scores, quality)
    every = browse.filtered_ids(session, browse.narrowed(query, view))
    ordered = browse.ordered_ids(
        session, redis, storage, member.project, scores, every, sort, quality
    )
    ids = ordered[offset : offset + limit].tolist()
    data = listing.public_items(session, storage, member.project, scores, ids)
    return Page(data=data, count=len(ordered))


def _filter_predicted(query, scores, project: Project, predicted: str):  # type: ignore[no-untyped-def]
    if predicted not in project.labels:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"Unknown label {predicted!r}"
        )
    if scores is None:
        return query.where(False)
    column = project.labels.index(predicted)
    probs = scores.probs
    if column >= probs.shape[1]:
        return query.where(False)
    chosen = predicted_mask(probs, project.task.multilabel)[:, column]
    return query.where(col(Item.id).in_(scores.item_ids[chosen].tolist()))


@router.get("/{item_id}")
def read_item(
    item_id: ItemId, member: ProjectMemberDep, session: SessionDep, storage: StorageDep
) -> ItemDetail:
    item = get_item(session, member.id, item_id)
    dataset = session.get(Dataset, item.dataset_id)
    rows = session.exec(
        select(Annotation, User.name)
        .outerjoin(User, col(User.id) == Annotation.user_id)
        .where(Annotation.item_id == item_id)
        .order_by(col(Annotation.id))
    ).all()
    annotations = [
        AnnotationPublic(**annotation.model_dump(), user_name=name) for annotation, name in rows
    ]
    resolved = session.exec(
        select(Resolution, User.name, User.email)
        .outerjoin(User, col(User.id) == Resolution.user_id)
        .where(Resolution.item_id == item_id)
    ).first()
    detail = ItemDetail(
        **item_public(
            item,
            dataset.name if dataset else None,
            final_labels(session, member.project, [item_id]).get(item_id),
        ).model_dump(),
        annotations=annotations,
        resolution=ResolutionPublic(
            **resolved[0].model_dump(), user_name=resolved[1] or resolved[2]
        )
        if resolved
        else None,
    )
    scores = active_scores(session, storage, member.project)
    prediction = predictions_for(scores, member.project, [item_id])
    if item_id in prediction:
        detail.prediction, detail.uncertainty = prediction[item_id]
    listing.enrich(session, storage, member.project, scores, [detail])
    return detail


@router.get("/{item_id}/content", response_model=None)
def item_content(
    item_id: ItemId, member: ProjectMemberDep, session: SessionDep, storage: StorageDep
) -> StreamingResponse | RedirectResponse:
    """The item's image bytes (a redirect to a presigned URL when storage is S3)."""
    item = get_item(session, member.id, item_id)
    if item.storage_key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="This item is a text; it has no file")
    url = storage.presigned_get(item.storage_key, seconds=600)
    if url:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    return StreamingResponse(
        storage.iter_chunks(item.storage_key),
        media_type=item.content_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=86400"},
    )
