"""Label Studio imports: its JSON export (a list of tasks), alone or zipped with the images
it names. A task's label is the last not-cancelled annotation's `choices` or `taxonomy`
result (a taxonomy path counts by its leaf, or by its `/`-joined path when that is the
project's label); its item is `data.text` (text projects) or the image `data.image` names:
a zip member, matched by path or file name, or a `data:` URI. Images behind http(s) URLs are
not fetched (the LS zip carries them)."""

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import parse_qs, unquote, urlparse

from filament.uploads.ingest import (
    Problem,
    Record,
    UploadRefused,
    check_text_length,
    image_record,
    too_large,
    unsafe_member,
)

MAX_JSON_BYTES = 256 * 1024**2  # a Label Studio export is one JSON document, read whole
LABEL_RESULTS = ("choices", "taxonomy")
NOT_FETCHED = (
    "images are not fetched from links: upload the Label Studio export as a zip with its "
    "images (or with data: URIs)"
)


def read_tasks(stream: IO[bytes], filename: str) -> list[dict[str, Any]]:
    """The tasks of a Label Studio JSON export, or UploadRefused saying what is wrong."""
    raw = stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise UploadRefused(
            f"{filename}: a Label Studio export over {MAX_JSON_BYTES // 1024**2} MB; "
            "split it into several files"
        )
    try:
        tasks = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise UploadRefused(f"{filename}: not UTF-8 text ({error.reason})") from error
    except json.JSONDecodeError as error:
        raise UploadRefused(
            f"{filename}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from error
    if not isinstance(tasks, list) or not all(
        isinstance(task, dict) and isinstance(task.get("data"), dict) for task in tasks
    ):
        raise UploadRefused(
            f"{filename}: not a Label Studio JSON export (a list of tasks, each with `data`)"
        )
    return tasks


def task_labels(task: dict[str, Any], project_labels: list[str]) -> list[str] | None:
    """The labels of the task's last annotation that was not cancelled; None without one
    or without a choice in it. Parts of another shape than LS writes are passed over."""
    annotations = [
        a
        for a in _list(task.get("annotations"))
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if not annotations:
        return None
    found: list[str] = []
    for result in _list(annotations[-1].get("result")):
        if not isinstance(result, dict) or result.get("type") not in LABEL_RESULTS:
            continue
        value = result.get("value")
        if not isinstance(value, dict):
            continue
        if result["type"] == "choices":
            found += [str(choice) for choice in _list(value.get("choices"))]
        else:
            for path in _list(value.get("taxonomy")):
                parts = [str(part) for part in path] if isinstance(path, list) else [str(path)]
                if not parts:
                    continue
                joined = "/".join(parts)
                found.append(joined if joined in project_labels else parts[-1])
    # an annotation without a choice (submitted empty) imports as unlabeled
    return list(dict.fromkeys(found)) or None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def check_tasks(
    tasks: list[dict[str, Any]],
    filename: str,
    modality: str,
    project_labels: list[str] | None,
    images: "ZipImages | None" = None,
) -> None:
    """Refuse, before any job, tasks without the field the project needs, images that no
    task's link could reach, and labels the project does not have (all of them named)."""
    field = "text" if modality == "text" else "image"
    missing = [i for i, task in enumerate(tasks) if not isinstance(task["data"].get(field), str)]
    if missing:
        raise UploadRefused(
            f"{filename}: {len(missing)} task(s) have no `data.{field}` (first: task "
            f"{_task_id(tasks[missing[0]], missing[0])}); this is a {modality} project"
        )
    if modality == "image":
        references = [str(task["data"]["image"]) for task in tasks]
        if images is None and not all(ref.startswith("data:") for ref in references):
            raise UploadRefused(f"{filename}: {NOT_FETCHED}")
        if (
            images is not None
            and references
            and not any(ref.startswith("data:") or images.find(ref) for ref in references)
        ):
            raise UploadRefused(
                f"{filename}: none of the tasks' images is in the zip (first: {references[0]})"
            )
    if project_labels is None:
        return
    unknown: set[str] = set()
    for task in tasks:
        unknown |= set(task_labels(task, project_labels) or []) - set(project_labels)
    if unknown:
        raise UploadRefused(
            f"{filename}: unknown label(s) {', '.join(sorted(unknown)[:20])} "
            f"(project labels: {', '.join(project_labels)})"
        )


def _task_id(task: dict[str, Any], index: int) -> str:
    return str(task.get("id", index + 1))


def find_export(archive: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    """The Label Studio JSON in a zip: a `.json` member, shallowest first, that is a list."""
    candidates = sorted(
        (
            info
            for info in archive.infolist()
            if info.filename.lower().endswith(".json")
            and not info.is_dir()
            and not _hidden(info.filename)
        ),
        key=lambda info: (info.filename.count("/"), info.filename),
    )
    for info in candidates:
        with archive.open(info) as member:
            if member.read(256).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                return info
    return None


def _hidden(name: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(name).parts)


class ZipImages:
    """The images of an LS zip by path and by file name: LS names an image by its URL
    (`/data/upload/3/8f2a-cat.jpg`, `/data/local-files/?d=pets/cat.jpg`), the zip by where it
    lies, so the URL's path is tried whole, then without its leading folders, then by name."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.by_path: dict[str, zipfile.ZipInfo] = {}
        self.by_name: dict[str, zipfile.ZipInfo | None] = {}
        for info in archive.infolist():
            if info.is_dir() or unsafe_member(info.filename) or _hidden(info.filename):
                continue
            self.by_path[info.filename] = info
            name = PurePosixPath(info.filename).name
            # a file name that two members share names neither
            self.by_name[name] = None if name in self.by_name else info

    def find(self, reference: str) -> zipfile.ZipInfo | None:
        parsed = urlparse(reference)
        path = unquote(parse_qs(parsed.query).get("d", [parsed.path])[0]).lstrip("/")
        parts = PurePosixPath(path).parts
        for start in range(len(parts)):
            found = self.by_path.get("/".join(parts[start:]))
            if found is not None:
                return found
        return self.by_name.get(PurePosixPath(path).name) if parts else None


def iter_labelstudio(
    tasks: list[dict[str, Any]],
    filename: str,
    modality: str,
    project_labels: list[str],
    images: ZipImages | None,
    max_pixels: int,
    max_member: int,
    max_chars: int,
) -> Iterator[Record | Problem]:
    """The tasks as records, each with its imported labels."""
    for index, task in enumerate(tasks):
        labels = task_labels(task, project_labels)
        data = task["data"]
        if modality == "text":
            name = str(data.get("id") or f"{filename}:task {_task_id(task, index)}")
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                yield Problem(name, f"task {_task_id(task, index)}: empty or missing data.text")
                continue
            try:
                check_text_length(text, name, max_chars)
            except UploadRefused as error:
                yield Problem(name, str(error))
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            yield Record(name=name, content_hash=digest, size=len(text), text=text, labels=labels)
            continue
        reference = str(data.get("image") or "")
        found = _image_bytes(reference, images, max_member, task, index)
        if isinstance(found, Problem):
            yield found
            continue
        name, raw = found
        try:
            yield image_record(raw, name, max_pixels, labels)
        except UploadRefused as error:
            yield Problem(name, str(error))


def _image_bytes(
    reference: str,
    images: ZipImages | None,
    max_member: int,
    task: dict[str, Any],
    index: int,
) -> tuple[str, bytes] | Problem:
    task_name = f"task {_task_id(task, index)}"
    if reference.startswith("data:"):
        header, _, payload = reference.partition(",")
        if ";base64" not in header:
            return Problem(task_name, f"{task_name}: a data: URI image must be base64")
        if len(payload) * 3 // 4 > max_member:
            return too_large(task_name, max_member)
        try:
            return task_name, base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return Problem(task_name, f"{task_name}: the data: URI is not valid base64")
    if images is None:
        return Problem(task_name, f"{task_name}: {NOT_FETCHED} ({reference[:200]})")
    info = images.find(reference)
    if info is None:
        return Problem(task_name, f"{task_name}: image {reference[:200]} is not in the zip")
    if info.file_size > max_member:
        return too_large(info.filename, max_member)
    assert images is not None
    with images.archive.open(info) as member:
        raw = member.read(max_member + 1)
    if len(raw) > max_member:
        return too_large(info.filename, max_member)
    return info.filename, raw
