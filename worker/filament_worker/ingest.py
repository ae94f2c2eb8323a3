"""The ingest job: validate each uploaded item, store it once (content-addressed), record it."""

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from filament import activity, jobs
from filament.core.settings import Settings, get_settings
from filament.db.models import (
    ActivityAction,
    Annotation,
    AnnotationSource,
    Dataset,
    Item,
    ItemStatus,
    Job,
    JobStatus,
    Project,
)
from filament.db.session import get_engine, refresh_statistics, session_scope
from filament.jobs.rows import update_job
from filament.labeling.labels import LabelsRefused, checked_labels
from filament.storage import Storage, get_storage, make_key
from filament.uploads.direct import check_stored_upload
from filament.uploads.imports import IMPORT_KINDS, iter_import
from filament.uploads.ingest import (
    Problem,
    Record,
    UploadRefused,
    image_record,
    iter_texts,
    iter_zip,
    read_capped,
)
from sqlalchemy import insert
from sqlmodel import Session, col, select

from filament_worker.common import Progress, failure_message, in_thread, log, project_changed

BATCH = 500
MAX_ERRORS_KEPT = 1000
PROGRESS_EVERY = 25  # records between progress reports (each is throttled again by Progress)
TEXT_KINDS = {"csv", "jsonl"}


@contextmanager
def open_seekable(storage: Storage, key: str) -> Iterator[BinaryIO]:
    """zipfile needs to seek; S3 bodies cannot, so they are spooled to a temp file first."""
    stream = storage.open(key)
    if stream.seekable():
        with stream:
            yield stream
        return
    with tempfile.TemporaryFile() as spool, stream:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        yield spool


def _records(
    storage: Storage, file: dict[str, Any], project: Project, read: list[float]
) -> Iterator[Record | Problem]:
    """The file's records and problems; `read[0]` follows the share of its bytes read so far
    (the progress within a file: a single CSV of thousands of rows is one file)."""
    settings = get_settings()
    with open_seekable(storage, file["key"]) as stream:
        size = max(stream.seek(0, 2), 1)
        stream.seek(0)
        for found in _parsed(stream, file, project, settings):
            with contextlib.suppress(OSError, ValueError):  # a closed or unseekable member
                read[0] = min(stream.tell() / size, 1.0)
            yield found


def _parsed(
    stream: BinaryIO, file: dict[str, Any], project: Project, settings: Settings
) -> Iterator[Record | Problem]:
    if file["kind"] in IMPORT_KINDS:
        yield from iter_import(
            stream,
            file["kind"],
            file["name"],
            project.task.modality,
            project.labels,
            settings.max_image_pixels,
            settings.max_image_file_bytes,
            settings.max_text_chars,
        )
    elif file["kind"] == "zip":
        yield from iter_zip(
            stream, project.labels, settings.max_image_pixels, settings.max_image_file_bytes
        )
    elif file["kind"] == "image":
        data = read_capped(stream, file["name"], settings.max_image_file_bytes)
        if isinstance(data, Problem):
            yield data
            return
        try:
            yield image_record(data, file["name"], settings.max_image_pixels, None)
        except UploadRefused as error:
            yield Problem(file["name"], str(error))
    else:
        yield from iter_texts(
            stream,
            file["kind"],
            file["name"],
            settings.max_text_chars,
            settings.max_line_chars,
        )


def without_name(name: str, error: str) -> str:
    """The error's text without the item's name in front: it is shown beside the name (the
    upload checks' messages start with it, for where they stand alone)."""
    return error.removeprefix(f"{name}: ") or error


def no_rows_warning(file: dict[str, Any]) -> str:
    what = "no rows below its header" if file["kind"] == "csv" else "no lines"
    return f"{file['name']}: {what}, so nothing was added"


class Ingestor:
    """Writes records in batches: skips duplicates, stores image bytes, imports labels."""

    def __init__(self, session: Session, storage: Storage, project: Project, job: Job) -> None:
        self.session, self.storage, self.project, self.job = session, storage, project, job
        self.created = self.duplicates = self.imported = 0
        self.errors: list[dict[str, str]] = []

    def problem(self, name: str, error: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"name": name, "error": without_name(name, error)})

    def write(self, batch: list[Record]) -> None:
        hashes = list({record.content_hash for record in batch})
        known = set(
            self.session.exec(
                select(Item.content_hash).where(
                    Item.project_id == self.project.id, col(Item.content_hash).in_(hashes)
                )
            ).all()
        )
        rows, labels_by_hash = [], {}
        for record in batch:
            if record.content_hash in known:
                self.duplicates += 1
                continue
            known.add(record.content_hash)
            key = None
            if record.data is not None:
                key = make_key(
                    "projects",
                    self.project.id or 0,
                    "items",
                    record.content_hash[:2],
                    record.content_hash,
                )
                self.storage.put_bytes(key, record.data)
            rows.append(
                {
                    "project_id": self.project.id,
                    "dataset_id": self.job.params["dataset_id"],
                    "name": record.name[:1000],
                    "kind": self.project.task.modality,
                    "storage_key": key,
                    "content_type": record.content_type,
                    "text": record.text,
                    "content_hash": record.content_hash,
                    "size": record.size,
                    "status": ItemStatus.pending,
                    "n_annotations": 0,
                }
            )
            if record.labels is not None:
                labels_by_hash[record.content_hash] = (record.name, record.labels)
        if not rows:
            return
        inserted = self.session.execute(
            insert(Item).returning(col(Item.id), col(Item.content_hash)), rows
        ).all()
        self.created += len(inserted)
        annotations = []
        for item_id, content_hash in inserted:
            if content_hash not in labels_by_hash:
                continue
            name, labels = labels_by_hash[content_hash]
            checked = self._checked_labels(name, labels)
            if checked is not None:
                annotations.append(
                    {
                        "item_id": item_id,
                        "project_id": self.project.id,
                        "user_id": self.job.user_id,
                        "labels": checked,
                        "source": AnnotationSource.import_,
                    }
                )
        if annotations:
            self.session.execute(insert(Annotation), annotations)
            ids = [a["item_id"] for a in annotations]
            self.session.execute(
                Item.__table__.update().where(col(Item.id).in_(ids)).values(n_annotations=1)  # type: ignore[attr-defined]
            )
            self.imported += len(annotations)
        self.session.commit()
        project_changed(self.project.id or 0)

    def _checked_labels(self, name: str, labels: list[str]) -> list[str] | None:
        try:
            return checked_labels(self.project, labels)
        except LabelsRefused as refused:
            if refused.unknown:
                self.problem(
                    name,
                    f"unknown label(s) {', '.join(refused.unknown)}; imported without a label "
                    f"(project labels: {', '.join(self.project.labels)})",
                )
            else:
                self.problem(
                    name,
                    "a single-label project takes one label per item; imported without a label",
                )
            return None


def run_ingest(job_id: int) -> bool:
    """Ingest every file of an upload job. Returns whether new items need embedding."""
    storage = get_storage()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status in {JobStatus.done, JobStatus.cancelled}:
            return False  # arq may run a job twice: the first run finished it
        project = session.get(Project, job.project_id)
        if project is None:
            return False
        update_job(job_id, status=JobStatus.running, message="reading the upload")
        ingestor = Ingestor(session, storage, project, job)
        files = job.params.get("files", [])
        progress = Progress(job_id)
        warnings: list[str] = []
        for number, file in enumerate(files):
            if not storage.exists(file["key"]):
                continue
            if job.params.get("direct"):
                # the client wrote this object itself: check what is there now, not what
                # /complete saw (the presigned URL could rewrite it until it expires)
                try:
                    check_stored_upload(storage, file, project.task, get_settings(), project.labels)
                except UploadRefused as error:
                    ingestor.problem(file["name"], str(error))
                    continue
            batch: list[Record] = []
            read, seen = [0.0], 0
            for found in _records(storage, file, project, read):
                seen += 1
                if seen % PROGRESS_EVERY == 0:
                    # permille of the files: the bar moves within a file, not only between
                    done = round((number + read[0]) * 1000)
                    progress(done, len(files) * 1000, f"{file['name']}: {seen:,} items read")
                if isinstance(found, Problem):
                    ingestor.problem(found.name, found.error)
                    continue
                batch.append(found)
                if len(batch) >= BATCH:
                    ingestor.write(batch)
                    batch = []
            ingestor.write(batch)
            if not seen and file["kind"] in TEXT_KINDS:
                warnings.append(no_rows_warning(file))
            progress(number + 1, len(files), f"{file['name']}: done")
        result = {
            "created": ingestor.created,
            "duplicates": ingestor.duplicates,
            "labeled": ingestor.imported,
            "errors": len(ingestor.errors),
        }
        message = (
            f"{ingestor.created:,} new items, {ingestor.duplicates:,} duplicates skipped, "
            f"{len(ingestor.errors):,} problems"
        )
        if warnings:
            # "0 new items" alone reads as success: say why nothing came
            result["warnings"] = warnings
            message = f"{message}; {'; '.join(warnings)}"[:500]
        update_job(
            job_id,
            status=JobStatus.done,
            progress=1.0,
            message=message,
            errors=ingestor.errors,
            result=result,
        )
        log.info("ingest job %s: %s", job_id, message)
        dataset = session.get(Dataset, job.params.get("dataset_id") or 0)
        activity.record(
            session,
            project.id or 0,
            job.user_id,
            ActivityAction.items_uploaded,
            ("job", job_id),
            dataset=dataset.name if dataset else None,
            files=len(files),
            **result,
        )
        session.commit()
        for file in files:
            storage.delete(file["key"])
    if ingestor.created:
        refresh_statistics(get_engine(), Item.__tablename__)
    return ingestor.created > 0


async def ingest(ctx: dict[str, Any], job_id: int) -> None:
    try:
        created = await in_thread(run_ingest, job_id)
    except Exception as error:
        log.exception("ingest job %s failed", job_id)
        update_job(
            job_id, status=JobStatus.failed, message=failure_message("ingest", job_id, error)
        )
        raise
    if created:
        with session_scope() as session:
            job = session.get(Job, job_id)
            project_id = job.project_id if job else None
        if project_id is not None:
            await jobs.request_project_job(ctx["redis"], jobs.EMBED, project_id)
