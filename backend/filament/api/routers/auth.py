from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import select

from filament.accounts.registration import registration_check
from filament.accounts.users import create_account
from filament.api.deps import CurrentUser, SessionDep, SettingsDep
from filament.core.login_limits import LoginLimiter
from filament.core.security import verify_password
from filament.core.sessions import access_token_for, end_sessions
from filament.db.models import Token, User, UserPublic, UserRegister

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: UserRegister, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Who may register depends on FILAMENT_REGISTRATION (`GET /config` tells): open, anyone;
    invite-only, an email with a pending invitation, whose token comes as `invitation`;
    closed, nobody (the instance admin makes accounts). The first account of an instance may
    always register and becomes its admin. Refusals (403) answer the same whether the email
    has an account; a taken email is 409 where registering is allowed, as anyone could tell
    anyway by registering and signing in (docs/security.md)."""
    allowed = registration_check(session, settings.registration_mode, body.email, body.invitation)
    user = create_account(session, body.email, body.password, body.name, allowed)
    return UserPublic.model_validate(user)


@router.post("/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """A bearer token for FILAMENT_TOKEN_MINUTES. Failed attempts are counted per account and
    per client address; past the limits the answer is 429 with Retry-After."""
    email = form.username.lower()
    address = request.client.host if request.client else "unknown"
    limiter = LoginLimiter(request.app.state.redis, settings)
    limiter.check(email, address)  # LoginLocked: 429 with Retry-After
    user = session.exec(select(User).where(User.email == email)).first()
    # unknown emails check a dummy hash: the answer takes as long as for a wrong password
    if not verify_password(form.password, user.password_hash if user else None) or (
        user is not None and user.disabled
    ):
        limiter.failed(email, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Wrong email or password")
    assert user is not None
    limiter.succeeded(email)
    return Token(access_token=access_token_for(user, settings))


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT)
def logout_everywhere(user: CurrentUser, session: SessionDep) -> None:
    """Sign out every browser and script that uses an access token of this account."""
    end_sessions(session, user)
