from contextlib import AbstractContextManager

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from sqlmodel import Session, col, func, select

from filament import activity
from filament.accounts import invitations
from filament.accounts.members import member_row, owner_change
from filament.api.deps import Membership, ProjectMemberDep, ProjectOwner, SessionDep, SettingsDep
from filament.api.inviting import send_invitation
from filament.api.params import UserId
from filament.db.models import (
    ActivityAction,
    InvitationCreate,
    InvitationCreated,
    MemberPublic,
    MemberUpdate,
    Page,
    ProjectMember,
    Role,
    User,
)

router = APIRouter(prefix="/projects/{project_id}/members", tags=["members"])


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


@router.post("", status_code=status.HTTP_202_ACCEPTED, deprecated=True)
def add_member(
    request: Request,
    background: BackgroundTasks,
    body: InvitationCreate,
    owner: ProjectOwner,
    session: SessionDep,
    settings: SettingsDep,
) -> InvitationCreated:
    """Members join by invitations they accept: this sends one, exactly as
    `POST /projects/{id}/invitations` does, and answers 202 with it (the person is a member
    once they accept). It no longer attaches an account by its email, which told owners who
    has an account and let an owner add anyone without their consent (docs/security.md)."""
    return send_invitation(request, background, settings, session, owner, body)


def _email(session: Session, user_id: int) -> str | None:
    user = session.get(User, user_id)
    return user.email if user else None


def _member(session: Session, project_id: int, user_id: int) -> ProjectMember:
    row = member_row(session, project_id, user_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Member not found")
    return row


def _member_change(
    request: Request, session: Session, owner: Membership
) -> AbstractContextManager[None]:
    return owner_change(request.app.state.redis, session, owner.id, owner.user.id or 0)


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
            invitations.withdraw_sent_by(session, owner.id, user_id)
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
        invitations.withdraw_sent_by(session, owner.id, user_id)
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
