"""The ImageNet-style folder export of an image project: a zip of `label/filename` members
(the layout torchvision's `ImageFolder` and `datasets`' `imagefolder` read), streamed one
image at a time. A multi-label item is stored under each of its labels; an unlabeled (or
tied) item is left out, or stored under UNLABELED_FOLDER when asked for."""

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from filament.exports.rows import ExportItem
from filament.exports.sink import BlobReader, read_blob
from filament.exports.zipstream import ZipStream

UNLABELED_FOLDER = "_unlabeled"
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
}
ALIASES = {".jpg": {".jpg", ".jpeg", ".jpe"}}
UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME = 120  # characters of a member's file name: well under every file system's 255 bytes


def safe_part(text: str, fallback: str) -> str:
    """One path part that no unzip tool can read as a path: separators, control and other
    odd characters become `_`, leading dots and spaces go (no `..`, no hidden files)."""
    cleaned = UNSAFE.sub("_", text).strip(" .")[:MAX_NAME].strip(" .")
    return cleaned or fallback


def member_name(item: ExportItem, folder: str, used: set[str]) -> str:
    """`folder/file`: the item name's last part, ending in an extension of its real content
    type, made unique in the folder (case-insensitively, for macOS and Windows) by the id."""
    base = safe_part(PurePosixPath(item.name.replace("\\", "/")).name, f"item-{item.item_id}")
    stem, suffix = PurePosixPath(base).stem, PurePosixPath(base).suffix
    wanted = EXTENSIONS.get(item.content_type or "")
    if wanted is not None and suffix.lower() not in ALIASES.get(wanted, {wanted}):
        stem, suffix = base, wanted  # `scan.png` holding a JPEG becomes `scan.png.jpg`
    name = f"{folder}/{stem}{suffix}"
    if name.lower() in used:
        name = f"{folder}/{stem}-{item.item_id}{suffix}"
    used.add(name.lower())
    return name


def imagefolder_export(
    batches: Iterator[list[ExportItem]], storage: BlobReader, unlabeled: bool
) -> Iterator[bytes]:
    """The zip's bytes, a member at a time (images are stored, not deflated again)."""
    archive = ZipStream()
    # the member names given so far, to keep them unique: ~100 bytes a name, the one part of
    # this export that grows with the project (the central directory is spooled to disk)
    used: set[str] = set()
    folders: dict[str, str] = {}
    for batch in batches:
        for item in batch:
            if item.storage_key is None:
                continue
            labels = item.labels or []
            if not labels and not unlabeled:
                continue
            targets = [_folder(folders, label) for label in labels] or [UNLABELED_FOLDER]
            data = read_blob(storage, item.storage_key)
            if data is None:
                continue
            for folder in targets:
                yield archive.add(member_name(item, folder, used), data)
    yield from archive.finish()


def _folder(folders: dict[str, str], label: str) -> str:
    # two labels that clean to one name (`a/b`, `a_b`) must not share a folder
    if label not in folders:
        name = safe_part(label, "label")
        taken = {value.lower() for value in folders.values()}
        if name == UNLABELED_FOLDER or name.lower() in taken:
            name = f"{name}-{len(folders) + 1}"
        folders[label] = name
    return folders[label]
