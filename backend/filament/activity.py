"""A project's activity log: who changed what, when. One function records an event
(`record`), called as one line at the place of each change, in the change's own transaction
(it adds the row; the caller's commit writes both, so a change that rolls back logs nothing).

Members read the log newest first in pages (`page`, keyset on the id, which grows with time),
and the export streams it (`rows`). What each action's `details` hold is documented in
docs/activity-and-guidelines.md.
"""

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from filament.db.models import Activity, ActivityAction, ActivityPublic, User

BATCH = 2000  # rows per read when streaming the log out


def record(
    session: Session,
    project_id: int,
    actor_id: int | None,
    action: ActivityAction,
    target: tuple[str, int | None] | None = None,
    **details: Any,
) -> Activity:
    """Log an event in the session's transaction (the caller commits). `target`: the kind
    and id of what changed (`("item", 12)`); `details`: JSON-able facts of the change."""
    entry = Activity(
        project_id=project_id,
        actor_id=actor_id,
        action=action.value,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        details=details,
    )
    session.add(entry)
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{field: {"old": ..., "new": ...}}` for the fields whose value differs (a field only
    one side has is None on the other)."""
    names = [*after, *(name for name in before if name not in after)]
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in names
        if before.get(name) != after.get(name)
    }


def page(
    session: Session,
    project_id: int,
    limit: int,
    before: int | None = None,
    action: str | None = None,
    actor_id: int | None = None,
) -> tuple[list[ActivityPublic], int | None]:
    """The project's entries newest first, older than the entry `before`, with the cursor of
    the next page (None on the last)."""
    query = (
        select(Activity, User.name, User.email)
        .outerjoin(User, col(User.id) == Activity.actor_id)
        .where(Activity.project_id == project_id)
    )
    if before is not None:
        query = query.where(col(Activity.id) < before)
    if action is not None:
        query = query.where(Activity.action == action)
    if actor_id is not None:
        query = query.where(Activity.actor_id == actor_id)
    rows = session.exec(query.order_by(col(Activity.id).desc()).limit(limit + 1)).all()
    entries = [
        ActivityPublic(
            **entry.model_dump(exclude={"project_id"}),
            actor_name=(name or email) if entry.actor_id is not None else None,
        )
        for entry, name, email in rows[:limit]
    ]
    more = len(rows) > limit
    return entries, (entries[-1].id if more and entries else None)


def rows(session: Session, project_id: int) -> Iterator[dict[str, Any]]:
    """Every entry of the project, oldest first, read `BATCH` at a time (for the export)."""
    last_id = 0
    while True:
        batch = session.exec(
            select(Activity, User.email)
            .outerjoin(User, col(User.id) == Activity.actor_id)
            .where(Activity.project_id == project_id, col(Activity.id) > last_id)
            .order_by(col(Activity.id))
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for entry, email in batch:
            yield {
                "id": entry.id,
                "created_at": entry.created_at.isoformat(),
                "actor": email,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
                "details": entry.details,
            }
        last_id = batch[-1][0].id or 0
