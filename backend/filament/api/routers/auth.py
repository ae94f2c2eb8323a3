from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import func, select

from filament.api.deps import CurrentUser, SessionDep, SettingsDep
from filament.core.login_limits import LoginLimiter
from filament.core.security import hash_password, verify_password
from filament.core.sessions import access_token_for, end_sessions
from filament.db.models import Token, User, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Open registration (FILAMENT_REGISTRATION=open, the default) answers 409 for a taken
    email: anyone could tell anyway by registering and signing in (docs/security.md). Closed
    registration answers 403 to everyone, existing email or not."""
    if settings.registration == "closed":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="Registration is closed on this server: ask an administrator for an account",
        )
    email = body.email.lower()
    if session.exec(select(User).where(func.lower(User.email) == email)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, detail="An account with this email exists")
    user = User(email=email, name=body.name, password_hash=hash_password(body.password))
    session.add(user)
    session.commit()
    session.refresh(user)
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
