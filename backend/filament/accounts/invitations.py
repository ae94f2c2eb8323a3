"""Invitations: how people join a project (docs/security.md, Invitations).

An owner invites an email with a role; the invitation is a link with a random token (only its
SHA-256 is stored) that expires (FILAMENT_INVITATION_DAYS), is used once, and is bound to the
email: only a signed-in account with that email can accept it. Inviting the same email again
replaces the pending invitation; revoking deletes it. Nothing here looks up whether an account
exists for the email, so inviting tells an owner nothing about who has an account.

Sending, replacing, revoking and accepting take the project's members lock, like every other
member change (`accounts.members`)."""

from dataclasses import dataclass
from datetime import timedelta

from redis import Redis
from sqlmodel import Session, col, delete, func, select

from filament import activity
from filament.accounts.members import member_row, members_locked, owner_change
from filament.core.clock import as_utc
from filament.core.errors import Conflict, Forbidden, NotFound
from filament.core.login_limits import throttle_misses
from filament.core.security import hash_api_token, new_link_token
from filament.core.settings import Settings
from filament.db.models import (
    ActivityAction,
    Invitation,
    InvitationPublic,
    InvitationView,
    MailStatus,
    Project,
    ProjectMember,
    Role,
    User,
    utcnow,
)

NOT_FOUND = "Invitation not found: it may have been revoked or replaced by a newer one"
USED = "This invitation has been used already"
EXPIRED = "This invitation has expired: ask a project owner for a new one"


@dataclass
class SentInvitation:
    invitation: Invitation
    token: str  # shown once, in the answer to the owner (and in the mail)


def expired(invitation: Invitation) -> bool:
    return as_utc(invitation.expires_at) <= utcnow()


def link(base_url: str, token: str) -> str:
    """The web app's landing page for a token: a static page, the token in the query."""
    return f"{base_url.rstrip('/')}/invite/?token={token}"


def invite(
    session: Session,
    redis: Redis,
    settings: Settings,
    project_id: int,
    owner: User,
    email: str,
    role: Role,
) -> SentInvitation:
    """A new invitation, replacing the email's pending one. Refused for an email that is a
    member already (owners see the members, so this tells them nothing new) and past
    FILAMENT_INVITATIONS_PER_HOUR of this owner's (each may be a mail): 429."""
    assert owner.id is not None
    email = email.lower()
    sent = throttle_misses(
        redis, f"invitations:{owner.id}", settings.invitations_per_hour, 3600, "invitations"
    )
    sent.check()
    with owner_change(redis, session, project_id, owner.id):
        member = session.exec(
            select(ProjectMember.user_id)
            .join(User, col(User.id) == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id, func.lower(User.email) == email)
        ).first()
        if member is not None:
            raise Conflict(f"{email} is already a member of this project")
        session.exec(
            delete(Invitation).where(
                col(Invitation.project_id) == project_id,
                col(Invitation.email) == email,
                col(Invitation.accepted_at).is_(None),
            )
        )
        token, token_hash = new_link_token()
        invitation = Invitation(
            project_id=project_id,
            email=email,
            role=role,
            token_hash=token_hash,
            invited_by=owner.id,
            expires_at=utcnow() + timedelta(days=settings.invitation_days),
            mail_status=MailStatus.sending if settings.smtp_url else MailStatus.not_configured,
        )
        session.add(invitation)
        session.flush()
        activity.record(
            session,
            project_id,
            owner.id,
            ActivityAction.invitation_sent,
            ("invitation", invitation.id),
            email=email,
            role=role.value,
        )
        session.commit()
        session.refresh(invitation)
    sent.missed()  # counts invitations sent, not failures
    return SentInvitation(invitation, token)


def public(invitation: Invitation, inviter: User | None) -> InvitationPublic:
    assert invitation.id is not None
    return InvitationPublic(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        invited_by=_display(inviter),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        expired=expired(invitation),
        mail_status=invitation.mail_status,
        mail_error=invitation.mail_error,
    )


def _display(user: User | None) -> str | None:
    return None if user is None else user.name or user.email


def pending(session: Session, project_id: int) -> list[InvitationPublic]:
    """The project's invitations not accepted yet, expired ones too (marked), oldest first."""
    rows = session.exec(
        select(Invitation, User)
        .join(User, col(User.id) == Invitation.invited_by, isouter=True)
        .where(Invitation.project_id == project_id, col(Invitation.accepted_at).is_(None))
        .order_by(col(Invitation.id))
    ).all()
    return [public(invitation, inviter) for invitation, inviter in rows]


def revoke(
    session: Session, redis: Redis, project_id: int, owner_id: int, invitation_id: int
) -> None:
    """Delete a pending invitation: its link answers 404 from now on."""
    with owner_change(redis, session, project_id, owner_id):
        invitation = session.get(Invitation, invitation_id, populate_existing=True)
        if (
            invitation is None
            or invitation.project_id != project_id
            or invitation.accepted_at is not None
        ):
            raise NotFound("Invitation not found")
        session.delete(invitation)
        activity.record(
            session,
            project_id,
            owner_id,
            ActivityAction.invitation_revoked,
            ("invitation", invitation_id),
            email=invitation.email,
        )
        session.commit()


def withdraw_sent_by(session: Session, project_id: int, user_id: int) -> None:
    """When an owner stops being one (demoted, removed), their pending invitations go with
    their authority (the caller commits, under the members lock). `accept` checks it too."""
    session.exec(
        delete(Invitation).where(
            col(Invitation.project_id) == project_id,
            col(Invitation.invited_by) == user_id,
            col(Invitation.accepted_at).is_(None),
        )
    )


def _by_token(session: Session, token: str) -> Invitation:
    invitation = session.exec(
        select(Invitation)
        .where(Invitation.token_hash == hash_api_token(token))
        .execution_options(populate_existing=True)
    ).first()
    if invitation is None:
        raise NotFound(NOT_FOUND)
    return invitation


def _check_usable(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise Conflict(USED)
    if expired(invitation):
        raise Conflict(EXPIRED)


def view(session: Session, token: str) -> InvitationView:
    """What the link's landing page shows: project name, role, inviter, the bound email."""
    invitation = _by_token(session, token)
    _check_usable(invitation)
    project = session.get(Project, invitation.project_id)
    assert project is not None  # the invitation goes with its project (ON DELETE CASCADE)
    inviter = session.get(User, invitation.invited_by) if invitation.invited_by else None
    return InvitationView(
        project=project.name,
        role=invitation.role,
        inviter=_display(inviter),
        email=invitation.email,
    )


def pending_for(session: Session, token: str, email: str) -> Invitation | None:
    """The usable invitation behind `token` if it is bound to `email` (invite-only
    registration); None for any other token, without saying why."""
    try:
        invitation = _by_token(session, token)
        _check_usable(invitation)
    except (NotFound, Conflict):
        return None
    return invitation if invitation.email == email.lower() else None


def accept(session: Session, redis: Redis, token: str, user: User) -> ProjectMember:
    """Make `user` a member with the invitation's role. Refused (403) for an account with
    another email; under the members lock, the invitation is read again, so of concurrent
    accepts one makes the member and the others find it used (409)."""
    assert user.id is not None
    invitation = _by_token(session, token)
    _check_usable(invitation)
    if invitation.email != user.email.lower():
        raise Forbidden(
            f"This invitation is for {invitation.email}, and you are signed in as {user.email}: "
            "sign in with the invited email to accept it"
        )
    with members_locked(redis, invitation.project_id):
        invitation = _by_token(session, token)  # revoked, replaced or used meanwhile?
        _check_usable(invitation)
        inviter = member_row(session, invitation.project_id, invitation.invited_by or 0)
        if inviter is None or inviter.role != Role.owner or _disabled(session, inviter.user_id):
            # an invitation carries its owner's authority: a demoted, removed or disabled
            # owner's invitations would otherwise let them back in
            raise Conflict(
                "The owner who sent this invitation no longer is one: ask an owner for a new one"
            )
        if member_row(session, invitation.project_id, user.id) is not None:
            raise Conflict("You are a member of this project already")
        member = ProjectMember(
            project_id=invitation.project_id, user_id=user.id, role=invitation.role
        )
        invitation.accepted_at = utcnow()
        invitation.accepted_by = user.id
        session.add(member)
        session.add(invitation)
        activity.record(
            session,
            invitation.project_id,
            user.id,
            ActivityAction.member_added,
            ("user", user.id),
            email=user.email,
            role=invitation.role.value,
            invited_by=invitation.invited_by,
        )
        session.commit()
    return member


def _disabled(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id, populate_existing=True)
    return user is None or user.disabled
