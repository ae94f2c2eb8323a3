"""Reading uploads: quick checks on first bytes (in the request), item extraction (in the job).

Upload kinds: single images, zip archives of images, CSV and JSONL files of texts, and other
tools' exports (`imports.py`: Label Studio JSON or zip, a zipped Hugging Face dataset). Item
names come from the file name, the zip member path, or a CSV/JSONL `id` column.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, BinaryIO

from PIL import Image, UnidentifiedImageError

from filament.db.models import Task

IMAGE_SIGNATURES: dict[bytes, str] = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"BM": "image/bmp",
}
ZIP_SIGNATURE = b"PK\x03\x04"
PILLOW_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
}


HEAD_BYTES = 65536  # what the upload checks read of each file


class UploadRefused(ValueError):
    """A file that cannot be ingested; the message is shown to the user."""


def image_content_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return None


def sniff(head: bytes, filename: str) -> str:
    """The kind of an upload from its first bytes: image, zip, csv, jsonl, labelstudio (a
    JSON list of tasks), or unknown."""
    if image_content_type(head):
        return "image"
    if head.startswith(ZIP_SIGNATURE):
        return "zip"
    if b"\x00" in head:
        return "unknown"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return "labelstudio"
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in {".jsonl", ".ndjson"} or (suffix != ".csv" and head.lstrip().startswith(b"{")):
        return "jsonl"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    return "unknown"


@dataclass
class CheckedFile:
    kind: str  # image | zip | csv | jsonl | labelstudio | labelstudio_zip | hf_dataset
    members: int = 0  # files in a zip
    warning: str | None = None  # accepted, but the uploader should know (a header-only CSV)


def check_upload(
    stream: BinaryIO,
    filename: str,
    task: Task,
    max_expansion: int,
    max_ratio: int,
    labels: list[str] | None = None,
) -> CheckedFile:
    """Refuse what can be seen without ingesting: wrong kind, no `text` field, bad zip; and
    for another tool's export, what keeps it from this project (with `labels`, the project's,
    labels it does not have)."""
    # the exports of other tools build on this module's readers: imported here, not above
    from filament.uploads.imports import check_import, zip_kind

    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    if not head:
        raise UploadRefused(f"{filename}: the file is empty")
    kind = sniff(head, filename)
    members = 0
    if kind == "zip":
        members = check_zip(stream, filename, max_expansion, max_ratio)
        kind = zip_kind(stream)
    if kind in {"labelstudio", "labelstudio_zip", "hf_dataset"}:
        check_import(stream, kind, filename, task.modality, labels)
        return CheckedFile(kind, members=members)
    if task.modality == "image":
        if kind in {"csv", "jsonl"}:
            raise UploadRefused(
                f"{filename}: this is an image project; text files are not accepted"
            )
        if kind == "zip":
            return CheckedFile("zip", members=members)
        if kind != "image":
            raise UploadRefused(
                f"{filename}: not an image (JPEG, PNG, WebP, GIF, BMP) or a .zip of images"
            )
        return CheckedFile("image")
    if kind in {"image", "zip"}:
        raise UploadRefused(f"{filename}: this is a text project; upload .csv or .jsonl files")
    if kind == "unknown":
        raise UploadRefused(
            f"{filename}: not a text file; upload .csv or .jsonl with a 'text' field"
        )
    text = _decode_head(head, filename)
    if kind == "csv":
        header = next(csv.reader(io.StringIO(text.splitlines()[0] if text else "")), [])
        if "text" not in [name.strip().lower() for name in header]:
            raise UploadRefused(
                f"{filename}: the CSV header has no 'text' column (found: {', '.join(header)})"
            )
        if len(head) < HEAD_BYTES and not any(line.strip() for line in text.splitlines()[1:]):
            # the whole file was read: a header and nothing under it adds no items
            return CheckedFile(kind, warning=f"{filename}: no rows below the CSV header")
    else:
        first = text.splitlines()[0] if text else ""
        try:
            record = json.loads(first)
        except json.JSONDecodeError as error:
            raise UploadRefused(f"{filename}: line 1 is not valid JSON ({error.msg})") from error
        if not isinstance(record, dict) or "text" not in record:
            raise UploadRefused(f"{filename}: each JSONL line needs a 'text' field")
    return CheckedFile(kind)


def _decode_head(head: bytes, filename: str) -> str:
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # the 64 KiB cut may split a character; only an error before the last 3 bytes counts
        if error.start < len(head) - 3:
            raise UploadRefused(
                f"{filename}: the file is not UTF-8 text (bad byte at position {error.start})"
            ) from error
        return head[: error.start].decode("utf-8-sig")


def unsafe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def check_zip(stream: BinaryIO, filename: str, max_expansion: int, max_ratio: int) -> int:
    """Validate an archive's directory: no path tricks, no bomb. Returns its member count."""
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as error:
        raise UploadRefused(f"{filename}: not a valid zip archive ({error})") from error
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        unsafe = [info.filename for info in infos if unsafe_member(info.filename)]
        if unsafe:
            raise UploadRefused(
                f"{filename}: refused, member paths leave the archive: {', '.join(unsafe[:5])}"
            )
        total = sum(info.file_size for info in infos)
        if total > max_expansion:
            raise UploadRefused(
                f"{filename}: refused, it would expand to {total:,} bytes (limit {max_expansion:,})"
            )
        for info in infos:
            if info.compress_size and info.file_size / info.compress_size > max_ratio:
                raise UploadRefused(
                    f"{filename}: refused, member {info.filename} expands "
                    f"{info.file_size // info.compress_size}x (a zip bomb?)"
                )
    stream.seek(0)
    return len(infos)


# --- extraction (worker side) -----------------------------------------------------------------


@dataclass
class Record:
    """One item found in an upload."""

    name: str
    content_hash: str
    size: int
    text: str | None = None
    data: bytes | None = None  # image bytes
    content_type: str | None = None
    labels: list[str] | None = None  # imported annotation
    errors: list[str] = field(default_factory=list)


@dataclass
class Problem:
    name: str
    error: str


def validate_image(data: bytes, name: str, max_pixels: int) -> str:
    """The one image check of ingest and scoring: an allowed format (by its bytes, and only
    that format's Pillow decoder), at most `max_pixels` (read from the header, before
    decoding), then decoded fully. Returns the real content type or raises UploadRefused."""
    content_type = image_content_type(data[:16])
    if content_type is None:
        raise UploadRefused(f"{name}: not an image (its bytes are not JPEG/PNG/WebP/GIF/BMP)")
    try:
        with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as image:
            if image.width * image.height > max_pixels:
                raise UploadRefused(
                    f"{name}: {image.width}x{image.height} pixels is over the limit "
                    f"of {max_pixels:,} (FILAMENT_MAX_IMAGE_PIXELS)"
                )
            if image.width < 1 or image.height < 1:
                raise UploadRefused(f"{name}: the image has no pixels")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        if isinstance(error, UploadRefused):
            raise
        raise UploadRefused(f"{name}: the image is corrupt or truncated ({error})") from error
    except Image.DecompressionBombError as error:
        raise UploadRefused(
            f"{name}: the image has more pixels than the limit of {max_pixels:,} "
            "(FILAMENT_MAX_IMAGE_PIXELS)"
        ) from error
    return content_type


def check_text_length(text: str, name: str, max_chars: int) -> None:
    """The one text-length check of ingest and scoring."""
    if len(text) > max_chars:
        raise UploadRefused(
            f"{name}: text longer than {max_chars:,} characters (FILAMENT_MAX_TEXT_CHARS)"
        )


def image_record(data: bytes, name: str, max_pixels: int, labels: list[str] | None) -> Record:
    content_type = validate_image(data, name, max_pixels)
    return Record(
        name=name,
        content_hash=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        content_type=content_type,
        labels=labels,
    )


def too_large(name: str, max_bytes: int) -> Problem:
    return Problem(
        name,
        f"{name}: skipped, larger than the per-file limit of {max_bytes:,} bytes "
        "(FILAMENT_MAX_IMAGE_FILE_BYTES)",
    )


def read_capped(stream: IO[bytes], name: str, max_bytes: int) -> bytes | Problem:
    """One image's bytes, never more than `max_bytes` + 1 of them in memory."""
    data = stream.read(max_bytes + 1)
    return too_large(name, max_bytes) if len(data) > max_bytes else data


def iter_zip(
    stream: BinaryIO, project_labels: list[str], max_pixels: int, max_member: int
) -> Iterator[Record | Problem]:
    """Images in an archive; a parent folder named like a label becomes an imported label."""
    with zipfile.ZipFile(stream) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or unsafe_member(name) or _hidden(name):
                continue
            if info.file_size > max_member:  # declared in the directory: not even opened
                yield too_large(name, max_member)
                continue
            with archive.open(info) as member:
                data = read_capped(member, name, max_member)  # the directory may lie
            if isinstance(data, Problem):
                yield data
                continue
            folder = PurePosixPath(name).parent.name
            labels = [folder] if folder in project_labels else None
            try:
                yield image_record(data, name, max_pixels, labels)
            except UploadRefused as error:
                yield Problem(name, str(error))


def _hidden(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _split_labels(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text == "":
        return None
    return [part.strip() for part in text.split("|") if part.strip()]


class CappedLines:
    """The lines of a text file, each at most `max_chars` long: a longer line is skipped (read
    to its end in small pieces, never held whole) and noted in `skipped`."""

    def __init__(self, stream: io.TextIOWrapper, filename: str, max_chars: int) -> None:
        self.stream, self.filename, self.max_chars = stream, filename, max_chars
        self.number = 0  # of the line last read
        self.skipped: list[Problem] = []

    def __iter__(self) -> Iterator[str]:
        while line := self.stream.readline(self.max_chars + 1):
            self.number += 1
            if len(line) > self.max_chars and not line.endswith(("\n", "\r")):
                while (rest := self.stream.readline(65536)) and not rest.endswith(("\n", "\r")):
                    pass
                self.skipped.append(
                    Problem(
                        f"{self.filename}:{self.number}",
                        f"line {self.number}: skipped, longer than {self.max_chars:,} "
                        "characters (FILAMENT_MAX_LINE_CHARS)",
                    )
                )
                continue
            yield line

    def take_skipped(self) -> list[Problem]:
        skipped, self.skipped = self.skipped, []
        return skipped


def iter_texts(
    stream: BinaryIO, kind: str, filename: str, max_chars: int, max_line_chars: int
) -> Iterator[Record | Problem]:
    """Rows of a CSV or JSONL file (`text` required; `id`, `label`/`labels` optional)."""
    lines = CappedLines(
        io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""), filename, max_line_chars
    )
    try:
        rows: Iterator[dict[str, object] | Problem]
        if kind == "csv":
            reader = csv.DictReader(lines)
            reader.fieldnames = [(n or "").strip().lower() for n in reader.fieldnames or []]
            rows = iter(reader)
        else:
            rows = _jsonl_rows(lines)
        for number, row in enumerate(rows, start=1):
            yield from lines.take_skipped()
            if isinstance(row, Problem):
                yield row
                continue
            yield _text_record(row, number, filename, max_chars)
        yield from lines.take_skipped()
    except UnicodeDecodeError as error:
        yield Problem(filename, f"{filename}: stopped, the file is not UTF-8 text ({error.reason})")
    except csv.Error as error:
        yield Problem(filename, f"{filename}: stopped, malformed CSV ({error})")


def _jsonl_rows(lines: CappedLines) -> Iterator[dict[str, object] | Problem]:
    filename = lines.filename
    for line in lines:
        number = lines.number
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Problem(f"{filename}:{number}", f"line {number}: not valid JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            yield Problem(f"{filename}:{number}", f"line {number}: not a JSON object")
            continue
        yield {str(k).lower(): v for k, v in record.items()}


def _text_record(
    row: dict[str, object], number: int, filename: str, max_chars: int
) -> Record | Problem:
    name = str(row.get("id") or "").strip() or f"{filename}:{number}"
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return Problem(name, f"row {number}: empty or missing 'text'")
    try:
        check_text_length(text, f"row {number}", max_chars)
    except UploadRefused as error:
        return Problem(name, str(error))
    labels = _split_labels(row.get("labels", row.get("label")))
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Record(name=name, content_hash=digest, size=len(text), text=text, labels=labels)
