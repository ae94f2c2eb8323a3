"""Reviewers' resolutions: deciding an item's label between its annotators, and reopening it.
The annotations are never touched: each annotator's labels stay as they left them."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from filament import activity
from filament.core.errors import Conflict
from filament.db.models import (
    ActivityAction,
    Item,
    Project,
    Resolution,
    ResolutionSource,
    utcnow,
)
from filament.labeling.consensus import FinalLabel, final_labels
from filament.labeling.labels import checked_labels


def resolve(
    session: Session, project: Project, item: Item, user_id: int, labels: list[str]
) -> tuple[Resolution, FinalLabel]:
    """Record the reviewer's labels for the item (replacing an earlier resolution). Returns the
    resolution and how the item stood before it. An item nobody labeled is 409: there is
    nothing to decide between (label it instead)."""
    chosen = checked_labels(project, labels)
    assert item.id is not None
    before = final_labels(session, project, [item.id]).get(item.id)
    if before is None:
        raise Conflict("Nobody has labeled this item yet: label it instead of resolving it")
    mine = select(Resolution).where(Resolution.item_id == item.id)
    resolution = session.exec(mine).first()
    if resolution is None:
        try:
            with session.begin_nested():
                resolution = Resolution(
                    item_id=item.id, project_id=item.project_id, user_id=user_id, labels=chosen
                )
                session.add(resolution)
        except IntegrityError:
            # another reviewer resolved it at the same moment: the later decision stands
            resolution = session.exec(mine).one()
    resolution.labels, resolution.user_id = chosen, user_id
    resolution.source, resolution.created_at = ResolutionSource.review, utcnow()
    session.add(resolution)
    activity.record(
        session,
        item.project_id,
        user_id,
        ActivityAction.resolution_made,
        ("item", item.id),
        labels=chosen,
        was=before.decided_by.value,
    )
    session.commit()
    return resolution, before


def reopen(session: Session, item: Item, user_id: int | None = None) -> bool:
    """Delete the item's resolution (it is a conflict again if its annotators disagree);
    False when it had none. `user_id`: who reopened it, for the activity log."""
    resolution = session.exec(select(Resolution).where(Resolution.item_id == item.id)).first()
    if resolution is None:
        return False
    session.delete(resolution)
    activity.record(
        session,
        item.project_id,
        user_id,
        ActivityAction.resolution_reopened,
        ("item", item.id),
        labels=resolution.labels,
    )
    session.commit()
    return True
