from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from filament import jobs
from filament.api.cache import changed
from filament.api.deps import ProjectWriter, SessionDep, SettingsDep
from filament.api.enqueue import request_project_job
from filament.api.routers.items import get_item
from filament.db.models import (
    Annotation,
    AnnotationCreate,
    AnnotationPublic,
    AnnotationSource,
    Item,
    Project,
    utcnow,
)
from filament.queue import release_claims

router = APIRouter(
    prefix="/projects/{project_id}/items/{item_id}/annotations", tags=["annotations"]
)


def validate_labels(project: Project, labels: list[str]) -> list[str]:
    unknown = [label for label in labels if label not in project.labels]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Unknown label(s) {', '.join(map(repr, unknown))}; "
            f"this project's labels are {', '.join(project.labels)}",
        )
    if not project.task.multilabel and len(labels) != 1:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"This project takes exactly one label per item (got {len(labels)})",
        )
    # project order, no repeats
    return [label for label in project.labels if label in set(labels)]


def bump_annotation_count(session: Session, item: Item, change: int) -> None:
    # in SQL, so concurrent annotators of one item do not overwrite each other's count
    session.exec(
        update(Item)
        .where(col(Item.id) == item.id)
        .values(n_annotations=Item.n_annotations + change)
    )


def save_annotation(
    session: Session, item: Item, user_id: int, labels: list[str], source: AnnotationSource
) -> Annotation:
    """Create or replace the user's annotation of an item and end their lease on it."""
    mine = select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user_id)
    annotation = session.exec(mine).first()
    if annotation is None:
        try:
            with session.begin_nested():
                annotation = Annotation(
                    item_id=item.id or 0,
                    project_id=item.project_id,
                    user_id=user_id,
                    labels=labels,
                    source=source,
                )
                session.add(annotation)
            bump_annotation_count(session, item, +1)
        except IntegrityError:
            # the same user's concurrent request (a double click) created it first: replace it
            annotation = session.exec(mine).one()
    annotation.labels, annotation.source, annotation.created_at = labels, source, utcnow()
    session.add(annotation)
    return annotation


def labels_changed(request: Request, project_id: int, settings: SettingsDep) -> None:
    """After annotations changed: invalidate caches and ask for a head training."""
    changed(request.app.state.redis, project_id)
    request_project_job(request, jobs.TRAIN_HEAD, project_id, settings.head_debounce_seconds)


@router.post("", status_code=status.HTTP_201_CREATED)
def annotate(
    item_id: int,
    body: AnnotationCreate,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    settings: SettingsDep,
) -> AnnotationPublic:
    item = get_item(session, writer.id, item_id)
    labels = validate_labels(writer.project, body.labels)
    assert writer.user.id is not None
    annotation = save_annotation(session, item, writer.user.id, labels, AnnotationSource.human)
    session.commit()
    release_claims(request.app.state.redis, writer.project, writer.user.id, item_id)
    labels_changed(request, writer.id, settings)
    return AnnotationPublic(**annotation.model_dump(), user_name=writer.user.name)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def remove_my_annotation(
    item_id: int,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Undo: remove the caller's own annotation of this item."""
    item = get_item(session, writer.id, item_id)
    annotation = session.exec(
        select(Annotation).where(
            Annotation.item_id == item_id, Annotation.user_id == writer.user.id
        )
    ).first()
    if annotation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="You have not annotated this item")
    session.delete(annotation)
    bump_annotation_count(session, item, -1)
    session.commit()
    labels_changed(request, writer.id, settings)
