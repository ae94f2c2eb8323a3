"""Turning what a caller has (files, folders, pandas DataFrames) into the files an upload
sends, and reading them with progress.

A folder of an image project is sent as one uncompressed zip with the folder's relative paths
(`cat/1.jpg`): the item names keep them, and a top folder named like a label imports that label
(the server's rule for zips). A folder of a text project sends its .csv/.jsonl files. A
DataFrame is written to a CSV (columns `text`, and optionally `id`, `label` or `labels`; a list
in `labels` is joined with `|`). A folder written by Hugging Face `save_to_disk` (it holds a
`state.json` or `dataset_dict.json`) is sent as one zip of all its files, for either kind of
project: the server imports its rows and labels."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# (bytes done, bytes in all or None when unknown)
ProgressCallback = Callable[[int, int | None], None]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".zip"})
TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".jsonl", ".ndjson"})
CHUNK = 256 * 1024


@dataclass(frozen=True)
class SourceFile:
    name: str  # as the server will see it (the item names of single images)
    path: Path
    size: int


def is_dataframe(value: Any) -> bool:
    return hasattr(value, "to_csv") and hasattr(value, "columns")


def prepare(sources: Iterable[Any], image_project: bool, workdir: Path) -> list[SourceFile]:
    """The files to send for `sources`; zips and CSVs it has to write go to `workdir`."""
    prepared: list[SourceFile] = []
    for number, source in enumerate(sources):
        if is_dataframe(source):
            prepared.append(_dataframe_csv(source, workdir / f"dataframe-{number}.csv"))
            continue
        path = Path(os.fspath(source))
        if path.is_dir():
            if is_hf_dataset(path):
                prepared.append(_zip_dataset(path, workdir / f"{path.resolve().name}.zip"))
            elif image_project:
                prepared.append(_zip_folder(path, workdir / f"{path.resolve().name}.zip"))
            else:
                prepared.extend(_files_in(path, TEXT_SUFFIXES))
        elif path.is_file():
            prepared.append(SourceFile(path.name, path, path.stat().st_size))
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    if not prepared:
        raise ValueError("nothing to upload")
    return prepared


def _files_in(folder: Path, suffixes: frozenset[str]) -> list[SourceFile]:
    found = [
        SourceFile(path.relative_to(folder).as_posix(), path, path.stat().st_size)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
    if not found:
        raise ValueError(f"{folder}: no {', '.join(sorted(suffixes))} files in it")
    return found


def _zip_folder(folder: Path, target: Path) -> SourceFile:
    images = [f for f in _files_in(folder, IMAGE_SUFFIXES - {".zip"})]
    # stored, not deflated: images are compressed already, and the server's zip-bomb check
    # (compression ratio) has nothing to object to
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as bundle:
        for image in images:
            bundle.write(image.path, image.name)
    return SourceFile(target.name, target, target.stat().st_size)


def is_hf_dataset(folder: Path) -> bool:
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


def _zip_dataset(folder: Path, target: Path) -> SourceFile:
    # Arrow files compress well enough to matter, never past the server's zip-bomb ratio
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                bundle.write(path, path.relative_to(folder).as_posix())
    return SourceFile(target.name, target, target.stat().st_size)


def _dataframe_csv(frame: Any, target: Path) -> SourceFile:
    columns = [str(column) for column in frame.columns]
    if "text" not in columns:
        raise ValueError(
            f"the DataFrame needs a 'text' column (it has {', '.join(columns) or 'none'}); "
            "rename yours with frame.rename(columns={...})"
        )
    if "labels" in columns:
        frame = frame.assign(
            labels=[
                "|".join(value) if isinstance(value, list | tuple) else value
                for value in frame["labels"]
            ]
        )
    keep = [c for c in ("id", "text", "label", "labels") if c in columns]
    frame[keep].to_csv(target, index=False)
    return SourceFile(target.name, target, target.stat().st_size)


class Tracker:
    """Bytes sent of several files together, reported to one callback."""

    def __init__(self, total: int | None, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.positions: dict[int, int] = {}

    def moved(self, key: int, position: int) -> None:
        self.positions[key] = position
        if self.callback is not None:
            self.callback(sum(self.positions.values()), self.total)


class ProgressReader:
    """A binary file that reports how far it has been read (httpx reads multipart files in
    chunks, and rewinds them before sending)."""

    def __init__(self, handle: IO[bytes], tracker: Tracker, key: int) -> None:
        self.handle, self.tracker, self.key = handle, tracker, key

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.tracker.moved(self.key, self.handle.tell())
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self.handle.seek(offset, whence)
        if whence == 0:
            self.tracker.moved(self.key, position)
        return position

    def tell(self) -> int:
        return self.handle.tell()

    def fileno(self) -> int:
        return self.handle.fileno()


def chunks(handle: IO[bytes], tracker: Tracker, key: int) -> Iterator[bytes]:
    """A file as a byte stream (for a presigned PUT), with progress."""
    while chunk := handle.read(CHUNK):
        tracker.moved(key, handle.tell())
        yield chunk
