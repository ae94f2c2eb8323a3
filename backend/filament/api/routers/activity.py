"""A project's activity log, newest first, for its members."""

from typing import Annotated

from fastapi import APIRouter, Query

from filament import activity
from filament.api.deps import ProjectMemberDep, SessionDep
from filament.api.params import MAX_ID
from filament.db.models import ActivityAction, ActivityPage

router = APIRouter(prefix="/projects/{project_id}/activity", tags=["activity"])


@router.get("")
def list_activity(
    member: ProjectMemberDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the `next_cursor` of the previous page")
    ] = None,
    action: ActivityAction | None = None,
    actor: Annotated[int | None, Query(ge=1, le=MAX_ID, description="a user's id")] = None,
) -> ActivityPage:
    """Who changed what and when: annotations, datasets, uploads, members, settings,
    guidelines and models; filter by `action` and `actor`, page with `before`."""
    entries, cursor = activity.page(
        session, member.id, limit, before, action.value if action else None, actor
    )
    return ActivityPage(data=entries, next_cursor=cursor)
