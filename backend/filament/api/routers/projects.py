from fastapi import APIRouter, HTTPException, Request, status
from redis import Redis
from sqlmodel import Session, col, select

from filament import activity
from filament.api.deps import (
    CurrentUser,
    ProjectMemberDep,
    ProjectOwner,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from filament.db.models import (
    ActivityAction,
    Dataset,
    Page,
    Project,
    ProjectCreate,
    ProjectMember,
    ProjectPublic,
    ProjectUpdate,
    Role,
)
from filament.labeling.items import item_counts
from filament.ml.backbones import BACKBONES, DEFAULT_BACKBONE, BackboneUnavailable
from filament.storage import make_key

router = APIRouter(prefix="/projects", tags=["projects"])


def project_public(redis: Redis, session: Session, project: Project, role: Role) -> ProjectPublic:
    assert project.id is not None
    total, _, labeled = item_counts(redis, session, project.id)
    return ProjectPublic(**project.model_dump(), role=role, items_total=total, labeled=labeled)


def check_backbone(name: str, modality: str, settings: SettingsDep) -> None:
    spec = BACKBONES.get(name)
    if spec is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Unknown backbone {name!r}; choose one of {', '.join(sorted(BACKBONES))}",
        )
    if spec.modality != modality:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Backbone {name!r} embeds {spec.modality}s, but this task needs {modality}s",
        )
    try:
        spec.check_available(settings.weights_dir)
    except BackboneUnavailable as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from error


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(
    request: Request,
    body: ProjectCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ProjectPublic:
    backbone = body.backbone or DEFAULT_BACKBONE[body.task.modality]
    check_backbone(backbone, body.task.modality, settings)
    assert user.id is not None
    project = Project(
        **body.model_dump(exclude={"backbone"}), backbone=backbone, created_by=user.id
    )
    session.add(project)
    session.flush()
    assert project.id is not None
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.owner))
    session.add(Dataset(project_id=project.id, name="default"))
    session.commit()
    return project_public(request.app.state.redis, session, project, Role.owner)


@router.get("")
def list_projects(request: Request, user: CurrentUser, session: SessionDep) -> Page[ProjectPublic]:
    rows = session.exec(
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user.id)
        .order_by(col(Project.id).desc())
    ).all()
    redis = request.app.state.redis
    data = [project_public(redis, session, project, role) for project, role in rows]
    return Page(data=data, count=len(data))


@router.get("/{project_id}")
def read_project(request: Request, member: ProjectMemberDep, session: SessionDep) -> ProjectPublic:
    return project_public(request.app.state.redis, session, member.project, member.role)


@router.patch("/{project_id}")
def update_project(
    request: Request, body: ProjectUpdate, owner: ProjectOwner, session: SessionDep
) -> ProjectPublic:
    project = owner.project
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "labels" in changes:
        removed = set(project.labels) - set(changes["labels"])
        if removed:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail="Labels can be added or renamed by adding, not removed "
                f"(would remove {', '.join(sorted(removed))}); existing annotations use them",
            )
    if diff := activity.changes({f: getattr(project, f) for f in changes}, changes):
        activity.record(
            session,
            owner.id,
            owner.user.id,
            ActivityAction.settings_changed,
            ("project", owner.id),
            **diff,
        )
    for field, value in changes.items():
        setattr(project, field, value)
    session.add(project)
    session.commit()
    return project_public(request.app.state.redis, session, project, owner.role)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(owner: ProjectOwner, session: SessionDep, storage: StorageDep) -> None:
    session.delete(owner.project)
    session.commit()
    storage.delete_prefix(make_key("projects", owner.id))
