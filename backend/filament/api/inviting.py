"""Sending an invitation from a route (POST /invitations, and the older POST /members): the
domain makes it, this builds its link from the request, answers with it, and mails it after
the answer when SMTP is configured (a failed mail is recorded, never an error)."""

from fastapi import BackgroundTasks, Request
from sqlmodel import Session

from filament.accounts import invitations
from filament.accounts.mail import InvitationMail, deliver
from filament.api.deps import Membership
from filament.core.settings import Settings
from filament.db.models import InvitationCreate, InvitationCreated
from filament.db.session import session_scope


def send_invitation(
    request: Request,
    background: BackgroundTasks,
    settings: Settings,
    session: Session,
    owner: Membership,
    body: InvitationCreate,
) -> InvitationCreated:
    sent = invitations.invite(
        session, request.app.state.redis, settings, owner.id, owner.user, body.email, body.role
    )
    base_url = settings.public_url or str(request.base_url)
    url = invitations.link(base_url, sent.token)
    invitation = sent.invitation
    if settings.smtp_url:
        assert invitation.id is not None
        mail = InvitationMail(
            invitation_id=invitation.id,
            to=invitation.email,
            project=owner.project.name,
            role=invitation.role,
            inviter=owner.user.name or owner.user.email,
            url=url,
            days=settings.invitation_days,
        )
        background.add_task(_mail, settings, mail)
    answer = invitations.public(invitation, owner.user)
    return InvitationCreated(**answer.model_dump(), token=sent.token, url=url)


def _mail(settings: Settings, mail: InvitationMail) -> None:
    # after the answer, in its own session: the request's is closed by then
    with session_scope() as session:
        deliver(session, settings, mail)
