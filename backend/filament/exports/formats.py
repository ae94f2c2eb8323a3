"""Which dataset export a request gets: its body, media type and file name."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session

from filament.core.errors import Unprocessable
from filament.db.models import Project
from filament.exports.imagefolder import imagefolder_export
from filament.exports.parquet import parquet_export
from filament.exports.rows import export_items
from filament.exports.sink import BlobReader

DATASET_FORMATS = ("parquet", "imagefolder")


@dataclass(frozen=True)
class DatasetExport:
    body: Iterator[bytes]
    media_type: str
    filename: str


def dataset_export(
    session: Session,
    storage: BlobReader,
    project: Project,
    format: str,
    content: str,
    *,
    unlabeled: bool,
    annotations: bool,
) -> DatasetExport:
    """A dataset of the project's items and final labels, for training elsewhere; refused
    (422) for what the format cannot carry."""
    assert project.id is not None
    if content not in {"labels", "items"}:
        raise Unprocessable(
            f"format={format} exports the items and their final labels: use content=items "
            "(or csv/jsonl for predictions and the activity log)"
        )
    stem = f"project-{project.id}-dataset"
    if format == "parquet":
        batches = export_items(session, project, unlabeled=unlabeled, annotations=annotations)
        return DatasetExport(
            parquet_export(batches, project, storage, annotations),
            "application/vnd.apache.parquet",
            f"{stem}.parquet",
        )
    if project.task.modality != "image":
        raise Unprocessable("format=imagefolder is for image projects; use parquet for texts")
    batches = export_items(session, project, unlabeled=unlabeled)
    return DatasetExport(
        imagefolder_export(batches, storage, unlabeled), "application/zip", f"{stem}.zip"
    )
