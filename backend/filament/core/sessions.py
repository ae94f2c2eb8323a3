"""Sign-in sessions: the access tokens an account holds, issued and ended together."""

from sqlmodel import Session

from filament.core.security import create_access_token
from filament.core.settings import Settings
from filament.db.models import User


def access_token_for(user: User, settings: Settings) -> str:
    assert user.id is not None
    return create_access_token(
        user.id, user.token_version, settings.resolved_secret_key(), settings.token_minutes
    )


def end_sessions(session: Session, user: User) -> None:
    """Every access token signed for this user so far stops working (not personal API
    tokens: they are listed and revoked one by one)."""
    user.token_version += 1
    session.add(user)
    session.commit()
