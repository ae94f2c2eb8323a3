"""The items an export carries, in id order and a batch at a time: each with its final label
(docs/review.md) and, when asked for, every annotation of it."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import exists, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from filament.db.models import Dataset, Item, Project, Resolution, User
from filament.labeling.consensus import Vote, decide, load

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
    annotations: list[ExportAnnotation] | None  # None unless asked for


def export_items(
    session: Session,
    project: Project,
    *,
    unlabeled: bool = False,
    annotations: bool = False,
    batch: int = BATCH,
) -> Iterator[list[ExportItem]]:
    """Batches of the project's labeled (or resolved) items, or of all its items with
    `unlabeled`; one query for the items and one for their votes per batch, so memory
    stays at one batch whatever the project's size."""
    assert project.id is not None
    emails: dict[int, str] = {}
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
        if annotations:
            _learn_emails(session, emails, votes)
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


def _learn_emails(session: Session, emails: dict[int, str], votes: dict[int, list[Vote]]) -> None:
    # annotators are few and reused across batches: only the new ones are looked up
    wanted = {v.user_id for vs in votes.values() for v in vs if v.user_id is not None} - set(emails)
    if wanted:
        found = session.exec(select(User.id, User.email).where(col(User.id).in_(wanted))).all()
        emails.update({user_id: email for user_id, email in found if user_id is not None})


def _annotator(emails: dict[int, str], user_id: int | None) -> str:
    if user_id is None:
        return DELETED_USER
    return emails.get(user_id, f"user {user_id}")
