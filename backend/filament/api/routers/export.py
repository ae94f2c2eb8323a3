import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from sqlmodel import Session, col, select

from filament import activity
from filament.api.deps import ProjectMemberDep, SessionDep, StorageDep
from filament.db.models import Annotation, Dataset, Item, Project, User
from filament.exports.formats import dataset_export
from filament.exports.rows import DELETED_USER, export_items
from filament.models.artifacts import Scores
from filament.models.pool_scores import active_scores, confidence_of, predicted_labels

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


def annotator_emails(session: Session, project_id: int) -> dict[int | None, str]:
    """Everyone who annotated the project, by user id: the per-annotator columns."""
    rows = session.exec(
        select(Annotation.user_id, User.email)
        .outerjoin(User, col(User.id) == Annotation.user_id)
        .where(Annotation.project_id == project_id)
        .distinct()
    ).all()
    return {user_id: email or DELETED_USER for user_id, email in rows}


def _item_rows(
    session: Session, project: Project, emails: dict[int | None, str] | None
) -> Iterator[dict[str, object]]:
    """One row per labeled (or resolved) item, in id order: its final label, how it was
    decided, its agreement; with `emails`, every annotator's labels."""
    for batch in export_items(session, project, annotations=emails is not None, emails=emails):
        for item in batch:
            row: dict[str, object] = {
                "item_id": item.item_id,
                "name": item.name,
                "dataset": item.dataset,
                "text": item.text,
                "labels": item.labels,
                "decided_by": item.decided_by,
                "agreement": item.agreement,
                "annotators": item.annotators,
                "reviewer": item.reviewer,
            }
            if item.annotations is not None:
                row["annotations"] = [asdict(annotation) for annotation in item.annotations]
            yield row


def _items_csv(
    rows: Iterator[dict[str, object]], emails: dict[int | None, str] | None, with_text: bool
) -> Iterator[str]:
    """CSV of the item rows: labels `|`-joined (empty for a tie), and with `emails` a column
    per annotator email holding that annotator's labels (empty where they did not label)."""
    columns = ["item_id", "name", "dataset", *(["text"] if with_text else []), "labels"]
    columns += ["decided_by", "agreement", "annotators", "reviewer"]
    annotator_columns = sorted(set(emails.values())) if emails else []

    def flat(row: dict[str, object]) -> dict[str, object]:
        out = {**row, "labels": "|".join(row["labels"] or [])}  # type: ignore[call-overload]
        for annotation in row.get("annotations", []):  # type: ignore[attr-defined]
            labels = "|".join(annotation["labels"])
            # two deleted accounts on one item share the column
            earlier = out.get(annotation["annotator"])
            out[annotation["annotator"]] = f"{earlier} ; {labels}" if earlier else labels
        return out

    return _stream_csv((flat(row) for row in rows), [*columns, *annotator_columns])


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
    flat = ({**row, "labels": "|".join(row["labels"])} for row in rows)  # type: ignore[arg-type]
    return _stream_csv(flat, columns)


def _prediction_rows(
    session: Session, project: Project, scores: Scores
) -> Iterator[dict[str, object]]:
    """One row per item, in id order: the active model's labels, confidence and probabilities
    (empty for items embedded after it was trained)."""
    labels = project.labels[: scores.probs.shape[1]]
    last_id = 0
    while True:
        rows = session.exec(
            select(Item.id, Item.name, Item.text, Dataset.name)
            .join(Dataset, col(Dataset.id) == Item.dataset_id)
            .where(Item.project_id == project.id, col(Item.id) > last_id)
            .order_by(col(Item.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        found = scores.rows_of(ids)
        probs = scores.probs[np.maximum(found, 0)].astype(np.float64)
        confidence = confidence_of(probs, project.task.multilabel)
        for (item_id, name, text, dataset), row, p, sure in zip(
            rows, found, probs, confidence, strict=True
        ):
            scored = row >= 0
            yield {
                "item_id": item_id,
                "name": name,
                "dataset": dataset,
                "text": text,
                "predicted": predicted_labels(p, project) if scored else [],
                "confidence": round(float(sure), 4) if scored else None,
                "scores": dict(zip(labels, np.round(p, 4).tolist(), strict=True)) if scored else {},
                "model_version": scores.version if scored else None,
            }
        last_id = rows[-1][0]


def _predictions_csv(
    rows: Iterator[dict[str, object]], labels: list[str], with_text: bool
) -> Iterator[str]:
    columns = [
        "item_id",
        "name",
        "dataset",
        *(["text"] if with_text else []),
        "predicted",
        "confidence",
        "model_version",
    ]
    flat = (
        {
            **row,
            "predicted": "|".join(row["predicted"]),  # type: ignore[arg-type]
            **{f"p_{label}": row["scores"].get(label) for label in labels},  # type: ignore[attr-defined]
        }
        for row in rows
    )
    return _stream_csv(flat, [*columns, *(f"p_{label}" for label in labels)])


def _stream_csv(rows: Iterator[dict[str, object]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    # column names can be data too (annotators' emails)
    writer.writerow({name: spreadsheet_safe(name) for name in columns})
    for row in rows:
        writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()})
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("", response_class=StreamingResponse)
def export_labels(
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    format: Annotated[
        str,
        Query(
            pattern="^(csv|jsonl|parquet|imagefolder)$",
            description="parquet: a Hugging Face `datasets` Parquet file (the label column a "
            "ClassLabel, or a list of them when multi-label; image bytes or the text); "
            "imagefolder (image projects): a zip of label/filename images. Both carry the "
            "items and their final labels (content=items)",
        ),
    ] = "csv",
    content: Annotated[
        str,
        Query(
            pattern="^(labels|predictions|items|activity)$",
            description="labels: every annotation; predictions: the active model's labels, "
            "confidence and probabilities for every item, with its version; items: one row per "
            "labeled item with its final label, how it was decided (single, majority, review, "
            "suggestion, tie) and its agreement; activity: the project's activity log, oldest "
            "first",
        ),
    ] = "labels",
    annotators: Annotated[
        bool,
        Query(
            description="with content=items: every annotator's labels too (CSV: a column per "
            "annotator email; JSONL: `annotations`, a list of {annotator, labels, source}); "
            "the other contents ignore it; format=parquet: an `annotations` column of "
            "{annotator, labels, source}"
        ),
    ] = False,
    unlabeled: Annotated[
        bool,
        Query(
            description="format=parquet: unlabeled (and tied) items too, their label null; "
            "format=imagefolder: them too, under the folder `_unlabeled`"
        ),
    ] = False,
) -> StreamingResponse:
    """Every annotation (one row per annotator and item), streamed as CSV or JSONL; with
    `content=predictions`, the active model's prediction for every item; with `content=items`,
    every labeled item's final label; with `content=activity`, the activity log (`details` as
    a JSON cell in the CSV). `format=parquet` and `format=imagefolder` are datasets to train
    on elsewhere: the items with their final labels (README, Export)."""
    project = member.project
    if format in {"parquet", "imagefolder"}:
        found = dataset_export(
            session,
            storage,
            project,
            format,
            content,
            unlabeled=unlabeled,
            annotations=annotators,
        )
        return StreamingResponse(
            found.body,
            media_type=found.media_type,
            headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
        )
    with_text = project.task.modality == "text"
    filename = f"project-{member.id}-{content}.{format}"
    if content == "activity":
        return _download(_activity_body(session, member.id, format), format, filename)
    # the labels export has a row per annotation already, the predictions no annotators
    emails = annotator_emails(session, member.id) if annotators and content == "items" else None
    if content == "items":
        rows = _item_rows(session, project, emails)
        if not with_text:
            rows = ({k: v for k, v in row.items() if k != "text"} for row in rows)
    elif content == "predictions":
        scores = active_scores(session, storage, project)
        if scores is None:
            raise HTTPException(status.HTTP_409_CONFLICT, detail="No model yet: nothing predicted")
        rows = _prediction_rows(session, project, scores)
        if not with_text:
            rows = ({k: v for k, v in row.items() if k != "text"} for row in rows)
    else:
        rows = _rows(session, member.id)
    if format == "csv" and content == "predictions":
        body: Iterator[str] = _predictions_csv(rows, project.labels, with_text)
        media = "text/csv"
    elif format == "csv" and content == "items":
        body = _items_csv(rows, emails, with_text)
        media = "text/csv"
    elif format == "csv":
        body = _csv(rows, with_text)
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


ACTIVITY_COLUMNS = ["id", "created_at", "actor", "action", "target_type", "target_id", "details"]


def _activity_body(session: Session, project_id: int, format: str) -> Iterator[str]:
    rows = activity.rows(session, project_id)
    if format == "jsonl":
        return (json.dumps(row) + "\n" for row in rows)
    flat = ({**row, "details": json.dumps(row["details"])} for row in rows)
    return _stream_csv(flat, ACTIVITY_COLUMNS)


def _download(body: Iterator[str], format: str, filename: str) -> StreamingResponse:
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
