"""Recording and undoing annotations under the claim protocol (`filament.labeling.leases`)."""

from collections.abc import Collection

from redis import Redis
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from filament import activity
from filament.db.models import (
    ActivityAction,
    Annotation,
    AnnotationSource,
    Item,
    Project,
    Skip,
    WebhookEvent,
)
from filament.labeling import leases, overlap, timing
from filament.webhooks import events

Entry = tuple[Item, list[str], AnnotationSource]


def record(
    session: Session,
    redis: Redis,
    project: Project,
    user_id: int,
    entries: list[Entry],
    corrects_suggestion: Collection[int] = (),
) -> tuple[list[Annotation], set[int]]:
    """Create or replace the user's annotations of these items, commit them, and end the
    user's leases on them. Returns the annotations and the items on which this annotation goes
    beyond the annotators the item wants (a late annotation after the lease expired and someone else
    took the item: saved all the same, and said). `corrects_suggestion`: items whose labels
    replace the model's suggestion (the suggestions page's corrections)."""
    ids = [item.id or 0 for item, _, _ in entries]
    others = {
        item: [user for user in users if user != user_id]
        for item, users in leases.annotators_of(session, ids).items()
    }
    others = {item: others.get(item, []) for item in ids}
    # the done marks go up before the commit and again after it (see the protocol)
    counts = leases.mark_done(redis, project, user_id, others)
    timed = timing.finish(redis, project.id or 0, user_id, ids)
    try:
        made = [
            (item, *_save(session, item, user_id, labels, source, timed[item.id or 0]))
            for item, labels, source in entries
        ]
        saved = [annotation for _, annotation, _ in made]
        for annotation in saved:
            annotation.corrects_suggestion = annotation.item_id in corrects_suggestion
        session.flush()  # the new rows' ids, for the webhooks' payloads
        events.emit_many(
            session,
            project.id or 0,
            WebhookEvent.annotation_created,
            (events.annotation_data(a, item, replaced) for item, a, replaced in made),
        )
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
    activity.record(
        session,
        item.project_id,
        user_id,
        ActivityAction.annotation_deleted,
        ("item", item.id),
        labels=annotation.labels,
    )
    session.commit()
    leases.forget_done(redis, project, user_id, [item.id or 0])
    timing.restore(redis, project.id or 0, user_id, item.id or 0, annotation.served_at)
    return True


def skip(session: Session, redis: Redis, project: Project, user_id: int, item: Item) -> Skip:
    """The user passes the item up: their hold on it ends (others may be served it at once;
    the user is not, for `timing.SKIP_BLOCK_SECONDS`), and the skip is recorded with its
    timing for the per-annotator figures."""
    item_id = item.id or 0
    leases.release(redis, project, user_id, item_id)
    served_at, seconds = timing.finish(redis, project.id or 0, user_id, [item_id])[item_id]
    timing.block_skipped(redis, project.id or 0, user_id, item_id)
    row = Skip(
        project_id=item.project_id,
        item_id=item_id,
        user_id=user_id,
        served_at=served_at,
        seconds=seconds,
        created_at=timing.now(),
    )
    session.add(row)
    session.commit()
    return row


def _count(session: Session, item: Item, change: int) -> None:
    # in SQL, so concurrent annotators of one item do not overwrite each other's count
    session.exec(
        update(Item)
        .where(col(Item.id) == item.id)
        .values(n_annotations=Item.n_annotations + change)
    )


def _save(
    session: Session,
    item: Item,
    user_id: int,
    labels: list[str],
    source: AnnotationSource,
    timed: timing.Timing,
) -> tuple[Annotation, bool]:
    """The user's annotation of the item, made or changed, and whether it was changed."""
    mine = select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user_id)
    annotation = session.exec(mine).first()
    before = None if annotation is None else list(annotation.labels)
    if annotation is None:
        try:
            with session.begin_nested():
                annotation = Annotation(
                    item_id=item.id or 0,
                    project_id=item.project_id,
                    user_id=user_id,
                    labels=labels,
                    source=source,
                    created_at=timing.now(),
                )
                session.add(annotation)
            _count(session, item, +1)
        except IntegrityError:
            # the same user's concurrent request (a double click) created it first: replace it
            annotation = session.exec(mine).one()
    annotation.labels, annotation.source, annotation.created_at = labels, source, timing.now()
    if timed[0] is not None:  # a change made outside the queue keeps the first timing
        annotation.served_at, annotation.seconds = timed
    session.add(annotation)
    if before is None:
        activity.record(
            session,
            item.project_id,
            user_id,
            ActivityAction.annotation_created,
            ("item", item.id),
            labels=labels,
            source=source.value,
        )
    else:
        activity.record(
            session,
            item.project_id,
            user_id,
            ActivityAction.annotation_changed,
            ("item", item.id),
            old=before,
            new=labels,
            source=source.value,
        )
    return annotation, before is not None
