"""Invitations: owners send, list and revoke them per project; the link's landing page reads
one by its token (no sign-in), and the invited account accepts it."""

from fastapi import APIRouter, BackgroundTasks, Request, status

from filament.accounts import invitations
from filament.api.deps import CurrentUser, ProjectOwner, SessionDep, SettingsDep
from filament.api.inviting import send_invitation
from filament.api.params import InvitationId, InvitationTokenPath
from filament.db.models import (
    InvitationAccepted,
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    InvitationView,
    Page,
)

router = APIRouter(prefix="/projects/{project_id}/invitations", tags=["invitations"])
links = APIRouter(prefix="/invitations", tags=["invitations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_invitation(
    request: Request,
    background: BackgroundTasks,
    body: InvitationCreate,
    owner: ProjectOwner,
    session: SessionDep,
    settings: SettingsDep,
) -> InvitationCreated:
    """Invite an email with a role. The answer holds the link (shown only here: only a hash of
    its token is kept); with FILAMENT_SMTP_URL set it is mailed too, after this answer
    (`mail_status` in the list says how that went). Inviting an email again replaces its
    pending invitation."""
    return send_invitation(request, background, settings, session, owner, body)


@router.get("")
def list_invitations(owner: ProjectOwner, session: SessionDep) -> Page[InvitationPublic]:
    """Invitations not accepted yet, expired ones too (`expired`), oldest first."""
    data = invitations.pending(session, owner.id)
    return Page(data=data, count=len(data))


@router.delete("/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_invitation(
    invitation_id: InvitationId, request: Request, owner: ProjectOwner, session: SessionDep
) -> None:
    """Its link stops working (404)."""
    assert owner.user.id is not None
    invitations.revoke(session, request.app.state.redis, owner.id, owner.user.id, invitation_id)


@links.get("/{token}")
def read_invitation(token: InvitationTokenPath, session: SessionDep) -> InvitationView:
    """For the link's landing page, without signing in: the project's name, the role, who
    invited, and the email that may accept. 404: unknown, revoked or replaced; 409: used or
    expired."""
    return invitations.view(session, token)


@links.post("/{token}/accept")
def accept_invitation(
    token: InvitationTokenPath, request: Request, user: CurrentUser, session: SessionDep
) -> InvitationAccepted:
    """Join the project with the invitation's role. Needs a signed-in account with the
    invited email (else 403); 404: unknown, revoked or replaced; 409: used, expired, or
    already a member."""
    member = invitations.accept(session, request.app.state.redis, token, user)
    return InvitationAccepted(project_id=member.project_id, role=member.role)
