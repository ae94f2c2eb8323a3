import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlmodel import Session, col, select

from filament.api.deps import ProjectMemberDep, SessionDep
from filament.db.models import Annotation, Dataset, Item, User

router = APIRouter(prefix="/projects/{project_id}/export", tags=["export"])

BATCH = 2000


def _rows(session: Session, project_id: int) -> Iterator[dict[str, object]]:
    """One row per annotation, in item order, read in batches (never the whole table at once)."""
    last_id = 0
    while True:
        rows = session.exec(
            select(Annotation, Item, Dataset.name, User.email)
            .join(Item, col(Item.id) == Annotation.item_id)
            .join(Dataset, col(Dataset.id) == Item.dataset_id)
            .outerjoin(User, col(User.id) == Annotation.user_id)
            .where(Annotation.project_id == project_id, col(Annotation.id) > last_id)
            .order_by(col(Annotation.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for annotation, item, dataset, email in rows:
            yield {
                "item_id": item.id,
                "name": item.name,
                "dataset": dataset,
                "text": item.text,
                "labels": annotation.labels,
                "annotator": email,
                "source": annotation.source.value,
                "created_at": annotation.created_at.isoformat(),
            }
        last_id = rows[-1][0].id or 0


# a spreadsheet runs a cell that starts with one of these as a formula (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet shows as text: formula-like strings get a leading `'` (OWASP's
    advice); the JSONL export keeps values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterator[dict[str, object]], with_text: bool) -> Iterator[str]:
    columns = [
        "item_id",
        "name",
        "dataset",
        *(["text"] if with_text else []),
        "labels",
        "annotator",
        "source",
        "created_at",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        cells = {**row, "labels": "|".join(row["labels"])}  # type: ignore[arg-type]
        writer.writerow({name: spreadsheet_safe(value) for name, value in cells.items()})
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("", response_class=StreamingResponse)
def export_labels(
    member: ProjectMemberDep,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(csv|jsonl)$")] = "csv",
) -> StreamingResponse:
    """Every annotation (one row per annotator and item), streamed as CSV or JSONL."""
    rows = _rows(session, member.id)
    with_text = member.project.task.modality == "text"
    filename = f"project-{member.id}-labels.{format}"
    if format == "csv":
        body: Iterator[str] = _csv(rows, with_text)
        media = "text/csv"
    else:
        body = (
            json.dumps({k: v for k, v in row.items() if with_text or k != "text"}) + "\n"
            for row in rows
        )
        media = "application/x-ndjson"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
