"""Recording and undoing annotations under the claim protocol (`filament.labeling.leases`)."""

from redis import Redis
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from filament.db.models import Annotation, AnnotationSource, Item, Project, utcnow
from filament.labeling import leases, overlap

Entry = tuple[Item, list[str], AnnotationSource]


def record(
    session: Session, redis: Redis, project: Project, user_id: int, entries: list[Entry]
) -> tuple[list[Annotation], set[int]]:
    """Create or replace the user's annotations of these items, commit them, and end the
    user's leases on them. Returns the annotations and the items on which this annotation goes
    beyond the annotators the item wants (a late annotation after the lease expired and someone else
    took the item: saved all the same, and said)."""
    ids = [item.id or 0 for item, _, _ in entries]
    others = {
        item: [user for user in users if user != user_id]
        for item, users in leases.annotators_of(session, ids).items()
    }
    others = {item: others.get(item, []) for item in ids}
    # the done marks go up before the commit and again after it (see the protocol)
    counts = leases.mark_done(redis, project, user_id, others)
    try:
        saved = [_save(session, item, user_id, labels, source) for item, labels, source in entries]
        session.commit()
    except Exception:
        session.rollback()
        leases.forget_done(redis, project, user_id, ids)
        raise
    leases.mark_done(redis, project, user_id, others)
    leases.end_leases(redis, project, user_id, ids)
    return saved, {item for item, n in counts.items() if n >= overlap.wanted_of(project, item)}


def undo(session: Session, redis: Redis, project: Project, user_id: int, item: Item) -> bool:
    """Remove the user's annotation of the item; False if they had none. The row goes first,
    the done mark after: in between the item only looks fuller than it is."""
    annotation = session.exec(
        select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user_id)
    ).first()
    if annotation is None:
        return False
    session.delete(annotation)
    _count(session, item, -1)
    session.commit()
    leases.forget_done(redis, project, user_id, [item.id or 0])
    return True


def _count(session: Session, item: Item, change: int) -> None:
    # in SQL, so concurrent annotators of one item do not overwrite each other's count
    session.exec(
        update(Item)
        .where(col(Item.id) == item.id)
        .values(n_annotations=Item.n_annotations + change)
    )


def _save(
    session: Session, item: Item, user_id: int, labels: list[str], source: AnnotationSource
) -> Annotation:
    mine = select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user_id)
    annotation = session.exec(mine).first()
    if annotation is None:
        try:
            with session.begin_nested():
                annotation = Annotation(
                    item_id=item.id or 0,
                    project_id=item.project_id,
                    user_id=user_id,
                    labels=labels,
                    source=source,
                )
                session.add(annotation)
            _count(session, item, +1)
        except IntegrityError:
            # the same user's concurrent request (a double click) created it first: replace it
            annotation = session.exec(mine).one()
    annotation.labels, annotation.source, annotation.created_at = labels, source, utcnow()
    session.add(annotation)
    return annotation
