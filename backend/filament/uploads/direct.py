"""Checks of a direct-to-bucket upload, made by the API at /complete and again by the worker.

The presigned PUT is signed for the declared size, so S3 refuses another length; /complete
compares the stored size with the declared one, runs the same checks as an upload through the
API, and pins the object's ETag. The URL stays valid until it expires, so whoever holds it
could still overwrite the object after /complete: the worker therefore checks that the ETag is
the pinned one and runs the checks again on the object it actually reads."""

import tempfile
from typing import Any

from filament.core.settings import Settings
from filament.db.models import Task
from filament.storage import Storage
from filament.uploads.ingest import CheckedFile, UploadRefused, check_upload


def check_stored_upload(
    storage: Storage,
    file: dict[str, Any],
    task: Task,
    settings: Settings,
    labels: list[str] | None = None,
) -> CheckedFile:
    """UploadRefused naming the file unless the object is there, of the declared size, and
    passes the upload checks (kind, zip bombs, text fields)."""
    if not storage.exists(file["key"]):
        raise UploadRefused(f"{file['name']}: not uploaded yet")
    stored = storage.size(file["key"])
    if stored != file["size"]:
        raise UploadRefused(
            f"{file['name']}: {stored:,} bytes were uploaded, {file['size']:,} were declared"
        )
    pinned = file.get("etag")
    if pinned is not None and storage.etag(file["key"]) != pinned:
        raise UploadRefused(f"{file['name']}: the file changed after the upload was completed")
    with tempfile.TemporaryFile() as spool, storage.open(file["key"]) as stream:
        while chunk := stream.read(1024 * 1024):
            spool.write(chunk)
        spool.seek(0)
        return check_upload(
            spool,
            file["name"],
            task,
            settings.max_archive_expansion_bytes,
            settings.max_archive_ratio,
            labels,
        )
