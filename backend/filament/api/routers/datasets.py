from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from filament import activity
from filament.api.deps import Membership, ProjectMemberDep, ProjectOwner, SessionDep
from filament.api.params import DatasetId
from filament.cache import changed
from filament.db.models import ActivityAction, Dataset, DatasetCreate, DatasetPublic, Item, Page

router = APIRouter(prefix="/projects/{project_id}/datasets", tags=["datasets"])


def _dataset(session: Session, project_id: int, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.project_id != project_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Dataset not found")
    return dataset


@router.get("")
def list_datasets(member: ProjectMemberDep, session: SessionDep) -> Page[DatasetPublic]:
    rows = session.exec(
        select(Dataset, func.count(col(Item.id)))
        .outerjoin(Item, col(Item.dataset_id) == Dataset.id)
        .where(Dataset.project_id == member.id)
        .group_by(col(Dataset.id))
        .order_by(col(Dataset.id))
    ).all()
    data = [DatasetPublic(id=ds.id or 0, name=ds.name, items=n) for ds, n in rows]
    return Page(data=data, count=len(data))


def _save(
    session: Session, dataset: Dataset, owner: Membership, action: ActivityAction, **what: Any
) -> DatasetPublic:
    session.add(dataset)
    try:
        session.flush()  # the new dataset's id, for the activity entry
        activity.record(session, owner.id, owner.user.id, action, ("dataset", dataset.id), **what)
        session.commit()
    except IntegrityError as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="A dataset with this name exists"
        ) from error
    return DatasetPublic(id=dataset.id or 0, name=dataset.name)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_dataset(body: DatasetCreate, owner: ProjectOwner, session: SessionDep) -> DatasetPublic:
    dataset = Dataset(project_id=owner.id, name=body.name.strip())
    return _save(session, dataset, owner, ActivityAction.dataset_created, name=dataset.name)


@router.patch("/{dataset_id}")
def rename_dataset(
    dataset_id: DatasetId, body: DatasetCreate, owner: ProjectOwner, session: SessionDep
) -> DatasetPublic:
    dataset = _dataset(session, owner.id, dataset_id)
    old, dataset.name = dataset.name, body.name.strip()
    return _save(session, dataset, owner, ActivityAction.dataset_renamed, old=old, new=dataset.name)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(
    dataset_id: DatasetId,
    request: Request,
    owner: ProjectOwner,
    session: SessionDep,
    confirm: bool = Query(False, description="Must be true: deletes the items and their labels"),
) -> None:
    dataset = _dataset(session, owner.id, dataset_id)
    if not confirm:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail="Deleting a dataset removes its items and their annotations; "
            "repeat the request with ?confirm=true",
        )
    items = session.exec(select(func.count()).where(Item.dataset_id == dataset.id)).one()
    activity.record(
        session,
        owner.id,
        owner.user.id,
        ActivityAction.dataset_deleted,
        ("dataset", dataset.id),
        name=dataset.name,
        items=items,
    )
    session.delete(dataset)
    session.commit()
    changed(request.app.state.redis, owner.id)
