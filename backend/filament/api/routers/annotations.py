from fastapi import APIRouter, HTTPException, Request, status

from filament.api.deps import ProjectWriter, SessionDep, SettingsDep
from filament.api.enqueue import labels_changed
from filament.api.params import ItemId
from filament.db.models import AnnotationCreate, AnnotationPublic, AnnotationSource
from filament.labeling import annotations
from filament.labeling.items import get_item
from filament.labeling.labels import checked_labels

router = APIRouter(
    prefix="/projects/{project_id}/items/{item_id}/annotations", tags=["annotations"]
)


@router.post("", status_code=status.HTTP_201_CREATED)
def annotate(
    item_id: ItemId,
    body: AnnotationCreate,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    settings: SettingsDep,
) -> AnnotationPublic:
    item = get_item(session, writer.id, item_id)
    labels = checked_labels(writer.project, body.labels)
    assert writer.user.id is not None
    redis = request.app.state.redis
    (annotation,), beyond = annotations.record(
        session, redis, writer.project, writer.user.id, [(item, labels, AnnotationSource.human)]
    )
    labels_changed(request, writer.id, settings)
    return AnnotationPublic(
        **annotation.model_dump(),
        user_name=writer.user.name,
        beyond_annotations_per_item=item_id in beyond,
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def remove_my_annotation(
    item_id: ItemId,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Undo: remove the caller's own annotation of this item."""
    item = get_item(session, writer.id, item_id)
    assert writer.user.id is not None
    if not annotations.undo(session, request.app.state.redis, writer.project, writer.user.id, item):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="You have not annotated this item")
    labels_changed(request, writer.id, settings)
