"""Who may register under the server's mode (FILAMENT_REGISTRATION): open, invite-only with a
pending invitation for the email, closed. The first account of an instance always may."""

from collections.abc import Callable

from sqlmodel import Session

from filament.accounts.invitations import pending_for
from filament.core.errors import Forbidden
from filament.core.settings import RegistrationMode

INVITE_ONLY = (
    "Registration on this server is by invitation: open the invitation link you were sent "
    "(it registers the invited email) or ask a project owner for one"
)
CLOSED = "Registration is closed on this server: ask an administrator for an account"


def registration_check(
    session: Session, mode: RegistrationMode, email: str, invitation: str | None
) -> Callable[[], None]:
    """What `create_account` asks before a self-registration under `mode`. The refusals do
    not depend on whether the email has an account: closed refuses everyone, invite-only
    everyone without a pending invitation for exactly this email."""

    def check() -> None:
        if mode == "closed":
            raise Forbidden(CLOSED)
        if mode == "invite-only" and (
            invitation is None or pending_for(session, invitation, email) is None
        ):
            raise Forbidden(INVITE_ONLY)

    return check
