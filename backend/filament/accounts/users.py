"""Accounts: making one (the instance's first is its admin), finding, disabling."""

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from filament.core.errors import Conflict
from filament.core.security import hash_password
from filament.db.models import User


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.email) == email.lower())).first()


def no_account_yet(session: Session) -> bool:
    return session.exec(select(User.id).limit(1)).first() is None


def create_account(
    session: Session,
    email: str,
    password: str,
    name: str = "",
    may_register: Callable[[], None] = lambda: None,
) -> User:
    """A new account. The instance's first account needs no permission and becomes its admin;
    any later one calls `may_register` first (it raises to refuse). Two first registrations at
    once: the unique index on admins lets one commit, the other is tried again as a later one."""
    email = email.lower()
    password_hash = hash_password(password)
    for _ in range(3):
        first = no_account_yet(session)
        if not first:
            may_register()
        if find_user(session, email) is not None:
            raise Conflict("An account with this email exists")
        user = User(email=email, name=name, password_hash=password_hash, is_admin=first)
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            # another request made the first account, or this email, meanwhile: look again
            session.rollback()
            continue
        session.refresh(user)
        return user
    raise Conflict("An account with this email exists")


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable or enable an account; either way every session it had ends (token version)."""
    user.disabled = disabled
    user.token_version += 1
    session.add(user)
    session.commit()
