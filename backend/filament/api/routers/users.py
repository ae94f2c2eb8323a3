from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlmodel import select

from filament.api.deps import CurrentUser, SessionDep, SettingsDep
from filament.api.params import TokenId
from filament.core.login_limits import throttle_misses
from filament.core.security import hash_password, new_api_token, verify_password
from filament.core.sessions import access_token_for, end_sessions
from filament.db.models import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    Page,
    Token,
    UserPublic,
    utcnow,
)

router = APIRouter(prefix="/users/me", tags=["users"])


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


@router.get("")
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post("/password")
def change_password(
    request: Request,
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """Needs the current password (5 wrong ones in 15 minutes: 429). Every other session
    ends; the answer is a fresh token for this one (personal API tokens stay: revoke them one
    by one)."""
    # wrong current passwords are counted per user, apart from sign-in: a session holder's
    # typos lock this form, not the account's sign-in
    assert user.id is not None
    misses = throttle_misses(request.app.state.redis, f"password:{user.id}", 5, 900)
    misses.check()  # LoginLocked: 429 with Retry-After
    if not verify_password(body.current_password, user.password_hash):
        misses.missed()
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="The current password is wrong")
    user.password_hash = hash_password(body.new_password)
    end_sessions(session, user)
    return Token(access_token=access_token_for(user, settings))


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(
    body: ApiTokenCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreated:
    """A personal API token for scripts, expiring after `expires_in_days` (default
    FILAMENT_API_TOKEN_DAYS); the token is shown only in this answer."""
    days = min(body.expires_in_days or settings.api_token_days, settings.api_token_max_days)
    token, token_hash = new_api_token()
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        name=body.name,
        token_hash=token_hash,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return ApiTokenCreated(**row.model_dump(), token=token)


@router.get("/tokens")
def list_tokens(user: CurrentUser, session: SessionDep) -> Page[ApiTokenPublic]:
    rows = session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    data = [ApiTokenPublic.model_validate(row) for row in rows]
    return Page(data=data, count=len(data))


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: TokenId, user: CurrentUser, session: SessionDep) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Token not found")
    session.delete(row)
    session.commit()
