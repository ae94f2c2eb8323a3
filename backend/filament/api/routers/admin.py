"""The instance admin's routes (the instance's first account): accounts, listed, made (the
way in when registration is closed) and disabled or enabled."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, func, select

from filament.accounts.users import create_account, set_disabled
from filament.api.deps import InstanceAdmin, SessionDep
from filament.api.params import Offset, UserId
from filament.db.models import Page, User, UserAdminUpdate, UserAdminView, UserCreate

router = APIRouter(prefix="/admin/users", tags=["admin"])


@router.get("")
def list_users(
    admin: InstanceAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[UserAdminView]:
    """Every account, oldest first."""
    count = session.exec(select(func.count()).select_from(User)).one()
    users = session.exec(select(User).order_by(col(User.id)).offset(offset).limit(limit)).all()
    return Page(data=[UserAdminView.model_validate(user) for user in users], count=count)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: InstanceAdmin, session: SessionDep) -> UserAdminView:
    """An account, whatever the registration mode (409 for a taken email)."""
    user = create_account(session, body.email, body.password, body.name)
    return UserAdminView.model_validate(user)


@router.patch("/{user_id}")
def update_user(
    user_id: UserId, body: UserAdminUpdate, admin: InstanceAdmin, session: SessionDep
) -> UserAdminView:
    """Disable an account (it cannot sign in, and every session and API token of it stops
    working at once) or enable it again. The admin cannot disable their own account: the
    instance would be left without one."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="User not found")
    if user.id == admin.id and body.disabled:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="You cannot disable your own account")
    if user.disabled != body.disabled:
        set_disabled(session, user, body.disabled)
    return UserAdminView.model_validate(user)
