from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Request, status
from sqlmodel import Session, col, func, select

from filament import activity
from filament.api.deps import Membership, ProjectMemberDep, ProjectOwner, SessionDep
from filament.api.params import UserId
from filament.core.login_limits import throttle_misses
from filament.core.redis import project_lock
from filament.db.models import (
    ActivityAction,
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    Page,
    ProjectMember,
    Role,
    User,
)

router = APIRouter(prefix="/projects/{project_id}/members", tags=["members"])
MEMBER_MISSES = 20  # unknown emails per owner and hour


@router.get("")
def list_members(member: ProjectMemberDep, session: SessionDep) -> Page[MemberPublic]:
    rows = session.exec(
        select(User, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == member.id)
        .order_by(col(User.email))
    ).all()
    data = [
        MemberPublic(user_id=user.id or 0, email=user.email, name=user.name, role=role)
        for user, role in rows
    ]
    return Page(data=data, count=len(data))


@router.post("", status_code=status.HTTP_201_CREATED)
def add_member(
    request: Request, body: MemberCreate, owner: ProjectOwner, session: SessionDep
) -> MemberPublic:
    """Adding by email tells an owner whether an account exists (until invitations replace
    it), so unknown emails are counted per owner: past 20 an hour, 429 (docs/security.md)."""
    misses = throttle_misses(
        request.app.state.redis, f"add-member:{owner.user.id}", MEMBER_MISSES, 3600
    )
    misses.check()  # LoginLocked: 429 with Retry-After
    user = session.exec(select(User).where(User.email == body.email.lower())).first()
    if user is None or user.disabled:
        misses.missed()
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"No account with the email {body.email}"
        )
    if session.get(ProjectMember, (owner.id, user.id)):
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Already a member of this project")
    assert user.id is not None
    session.add(ProjectMember(project_id=owner.id, user_id=user.id, role=body.role))
    activity.record(
        session,
        owner.id,
        owner.user.id,
        ActivityAction.member_added,
        ("user", user.id),
        email=user.email,
        role=body.role.value,
    )
    session.commit()
    return MemberPublic(user_id=user.id, email=user.email, name=user.name, role=body.role)


def _email(session: Session, user_id: int) -> str | None:
    user = session.get(User, user_id)
    return user.email if user else None


def _member(session: Session, project_id: int, user_id: int) -> ProjectMember:
    # populate_existing: read the row as it is now, not as this session first saw it
    row = session.get(ProjectMember, (project_id, user_id), populate_existing=True)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Member not found")
    return row


@contextmanager
def _member_change(request: Request, session: Session, owner: Membership) -> Iterator[None]:
    """Member changes of a project one at a time (a Redis lock), each re-checking that its
    caller is still an owner: two owners demoting each other at once cannot leave none."""
    with project_lock(request.app.state.redis, "members", owner.id):
        if _member(session, owner.id, owner.user.id or 0).role != Role.owner:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail="Only the project's owners can do this"
            )
        yield


def _keep_an_owner(session: Session, project_id: int, row: ProjectMember) -> None:
    if row.role != Role.owner:
        return
    owners = session.exec(
        select(func.count()).where(
            ProjectMember.project_id == project_id, ProjectMember.role == Role.owner
        )
    ).one()
    if owners <= 1:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="A project needs at least one owner")


@router.patch("/{user_id}")
def update_member(
    user_id: UserId, body: MemberUpdate, request: Request, owner: ProjectOwner, session: SessionDep
) -> MemberPublic:
    with _member_change(request, session, owner):
        row = _member(session, owner.id, user_id)
        if body.role != Role.owner:
            _keep_an_owner(session, owner.id, row)
        activity.record(
            session,
            owner.id,
            owner.user.id,
            ActivityAction.member_role_changed,
            ("user", user_id),
            email=_email(session, user_id),
            old=row.role.value,
            new=body.role.value,
        )
        row.role = body.role
        session.add(row)
        session.commit()
    user = session.get(User, user_id)
    assert user is not None
    return MemberPublic(user_id=user_id, email=user.email, name=user.name, role=row.role)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    user_id: UserId, request: Request, owner: ProjectOwner, session: SessionDep
) -> None:
    with _member_change(request, session, owner):
        row = _member(session, owner.id, user_id)
        _keep_an_owner(session, owner.id, row)
        activity.record(
            session,
            owner.id,
            owner.user.id,
            ActivityAction.member_removed,
            ("user", user_id),
            email=_email(session, user_id),
            role=row.role.value,
        )
        session.delete(row)
        session.commit()
