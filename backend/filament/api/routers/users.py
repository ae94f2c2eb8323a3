from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from filament.api.deps import CurrentUser, SessionDep
from filament.core.security import new_api_token
from filament.db.models import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    Page,
    UserPublic,
)

router = APIRouter(prefix="/users/me", tags=["users"])


@router.get("")
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(body: ApiTokenCreate, user: CurrentUser, session: SessionDep) -> ApiTokenCreated:
    """A personal API token for scripts; the token is shown only in this answer."""
    token, token_hash = new_api_token()
    assert user.id is not None
    row = ApiToken(user_id=user.id, name=body.name, token_hash=token_hash)
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
def revoke_token(token_id: int, user: CurrentUser, session: SessionDep) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Token not found")
    session.delete(row)
    session.commit()
