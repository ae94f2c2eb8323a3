"""A project's items: lookups (someone else's id is the same answer as a missing one) and
counts."""

from redis import Redis
from sqlmodel import Session, col, func, select

from filament.cache import cached
from filament.core.errors import NotFound
from filament.db.models import Item, ItemStatus


def get_item(session: Session, project_id: int, item_id: int) -> Item:
    """The project's item, or NotFound (404) for an id that is missing or another project's."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project_id:
        raise NotFound("Item not found")
    return item


def item_counts(redis: Redis, session: Session, project_id: int) -> tuple[int, int, int]:
    """Items, embedded ("ready") items and labeled items. One scan of the project's items,
    cached until its items or annotations change."""
    return cached(
        redis,
        project_id,
        ("counts",),
        lambda: tuple(
            session.exec(
                select(
                    func.count(),
                    func.count().filter(Item.status == ItemStatus.ready),
                    func.count().filter(col(Item.n_annotations) > 0),
                ).where(Item.project_id == project_id)
            ).one()
        ),
    )
