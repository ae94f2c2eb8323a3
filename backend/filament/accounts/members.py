"""Changes of a project's members, one at a time: every change (a role, a removal, an
invitation sent or accepted) takes the project's "members" lock, so each can check the
project's state and act on it without another change in between (the last owner stays, one
member row per person)."""

from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis
from sqlmodel import Session

from filament.core.errors import Forbidden
from filament.core.redis import project_lock
from filament.db.models import ProjectMember, Role

OWNERS_ONLY = "Only the project's owners can do this"


def member_row(session: Session, project_id: int, user_id: int) -> ProjectMember | None:
    # populate_existing: the row as it is now, not as this session first saw it
    return session.get(ProjectMember, (project_id, user_id), populate_existing=True)


@contextmanager
def members_locked(redis: Redis, project_id: int) -> Iterator[None]:
    with project_lock(redis, "members", project_id):
        yield


@contextmanager
def owner_change(redis: Redis, session: Session, project_id: int, owner_id: int) -> Iterator[None]:
    """A change an owner makes: under the lock, re-checked that they still are one (two owners
    demoting each other at once cannot leave none)."""
    with members_locked(redis, project_id):
        row = member_row(session, project_id, owner_id)
        if row is None or row.role != Role.owner:
            raise Forbidden(OWNERS_ONLY)
        yield
