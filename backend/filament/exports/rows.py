"""The items an export carries, in id order and a batch at a time: each with its final label
(docs/review.md), how it was decided and, when asked for, every annotation of it. Every export
of items reads them here: the CSV/JSONL `content=items` download, Parquet and imagefolder."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import exists, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from filament.db.models import Dataset, Item, Project, Resolution, User
from filament.labeling.consensus import decide, load

BATCH = 2000  # items a batch: as the CSV export reads them
COLUMNS = (
    col(Item.id),
    col(Item.name),
    col(Item.text),
    col(Item.storage_key),
    col(Item.content_type),
    col(Dataset.name),
)
DELETED_USER = "(deleted user)"  # the annotator of a deleted account's annotations


@dataclass(frozen=True)
class ExportAnnotation:
    annotator: str
    labels: list[str]
    source: str


@dataclass(frozen=True)
class ExportItem:
    item_id: int
    name: str
    dataset: str
    text: str | None
    storage_key: str | None
    content_type: str | None
    labels: list[str] | None  # None: unlabeled, or a tie without a resolution
    decided_by: str | None
    agreement: float | None  # share of annotations agreeing with the final label
    annotators: int  # annotations of the item
    reviewer: str | None  # the email of who resolved it, if someone did
    annotations: list[ExportAnnotation] | None  # None unless asked for


def export_items(
    session: Session,
    project: Project,
    *,
    unlabeled: bool = False,
    annotations: bool = False,
    emails: dict[int | None, str] | None = None,
    batch: int = BATCH,
) -> Iterator[list[ExportItem]]:
    """Batches of the project's labeled (or resolved) items, or of all its items with
    `unlabeled`; one query for the items and one for their votes per batch, so memory
    stays at one batch whatever the project's size. `emails`: annotators already known by
    user id (a CSV's columns); the others are looked up as they are met."""
    assert project.id is not None
    emails = {} if emails is None else dict(emails)
    last_id = 0
    while True:
        # plain columns, not Item objects: the ORM's per-object bookkeeping was a quarter of
        # a 100k-item export's time (bench_export.py)
        query = (
            sa_select(*COLUMNS)
            .join(Dataset, col(Dataset.id) == Item.dataset_id)
            .where(col(Item.project_id) == project.id, col(Item.id) > last_id)
        )
        if not unlabeled:
            resolved = exists(select(Resolution.id).where(Resolution.item_id == Item.id))
            query = query.where(or_(col(Item.n_annotations) > 0, resolved))
        rows = session.execute(query.order_by(col(Item.id)).limit(batch)).all()
        if not rows:
            return
        votes, resolutions = load(session, project.id, [row[0] for row in rows])
        reviewers = [r.user_id for r in resolutions.values() if r.user_id is not None]
        _learn_emails(session, emails, reviewers)
        if annotations:
            _learn_emails(session, emails, [v.user_id for vs in votes.values() for v in vs])
        found = []
        for item_id, name, text, storage_key, content_type, dataset in rows:
            resolution = resolutions.get(item_id)
            item_votes = votes.get(item_id, [])
            final = decide(
                project.labels,
                project.task.multilabel,
                item_votes,
                resolution.labels if resolution else None,
            )
            if final is None and not unlabeled:
                continue  # its last annotation was undone between the two reads
            found.append(
                ExportItem(
                    item_id=item_id,
                    name=name,
                    dataset=dataset,
                    text=text,
                    storage_key=storage_key,
                    content_type=content_type,
                    labels=final.labels if final else None,
                    decided_by=final.decided_by.value if final else None,
                    agreement=_rounded(final.agreement) if final else None,
                    annotators=final.annotators if final else 0,
                    reviewer=_reviewer(emails, resolution.user_id if resolution else None),
                    annotations=[
                        ExportAnnotation(
                            _annotator(emails, vote.user_id), list(vote.labels), vote.source.value
                        )
                        for vote in item_votes
                    ]
                    if annotations
                    else None,
                )
            )
        if found:
            yield found
        last_id = rows[-1][0]


def _learn_emails(
    session: Session, emails: dict[int | None, str], user_ids: Iterable[int | None]
) -> None:
    # annotators and reviewers are few and reused across batches: only new ones are looked up
    wanted = {user_id for user_id in user_ids if user_id is not None} - set(emails)
    if wanted:
        found = session.exec(select(User.id, User.email).where(col(User.id).in_(wanted))).all()
        emails.update({user_id: email for user_id, email in found if user_id is not None})


def _annotator(emails: dict[int | None, str], user_id: int | None) -> str:
    if user_id is None:
        return DELETED_USER
    return emails.get(user_id, f"user {user_id}")


def _reviewer(emails: dict[int | None, str], user_id: int | None) -> str | None:
    return None if user_id is None else emails.get(user_id)


def _rounded(agreement: float | None) -> float | None:
    return None if agreement is None else round(agreement, 4)
