"""Looking up a project's items: someone else's id is the same answer as a missing one."""

from sqlmodel import Session

from filament.core.errors import NotFound
from filament.db.models import Item


def get_item(session: Session, project_id: int, item_id: int) -> Item:
    """The project's item, or NotFound (404) for an id that is missing or another project's."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project_id:
        raise NotFound("Item not found")
    return item
