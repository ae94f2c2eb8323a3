"""Hugging Face dataset imports: a directory written by `Dataset.save_to_disk` (or
`DatasetDict.save_to_disk`, a folder per split), zipped. Each split's `state.json` names its
Arrow files (IPC streams, read a record batch at a time), `dataset_info.json` its features:
the item is the `Image` column (image projects) or the `text` column (text projects), its
label the `ClassLabel` column (`label`, `labels`, else the first), a list of them, or a string
column named `label`/`labels`."""

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from filament.uploads.ingest import (
    Problem,
    Record,
    UploadRefused,
    check_text_length,
    image_record,
    too_large,
    unsafe_member,
)

TEXT_COLUMNS = ("text", "sentence", "content", "document")
LABEL_COLUMNS = ("label", "labels")
MAX_METADATA_BYTES = 16 * 1024**2  # state.json, dataset_info.json


@dataclass(frozen=True)
class Split:
    name: str
    arrow_files: list[str]  # zip member paths
    item_column: str
    label_column: str | None
    class_names: list[str] | None  # None: the label column holds strings
    multilabel: bool


def is_hf_dataset(archive: zipfile.ZipFile) -> bool:
    names = {PurePosixPath(n).name for n in archive.namelist()}
    return "state.json" in names and "dataset_info.json" in names


def find_splits(archive: zipfile.ZipFile, filename: str, modality: str) -> list[Split]:
    """The splits of a zipped `save_to_disk` directory, or UploadRefused saying why not."""
    members = set(archive.namelist())
    states = sorted(
        n for n in members if PurePosixPath(n).name == "state.json" and not unsafe_member(n)
    )
    splits = []
    for state_name in states:
        folder = PurePosixPath(state_name).parent
        state = _json_member(archive, state_name, filename)
        info = _json_member(archive, str(folder / "dataset_info.json"), filename)
        files = [
            str(folder / entry["filename"])
            for entry in _list(state.get("_data_files"))
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str)
        ]
        missing = [f for f in files if f not in members or unsafe_member(f)]
        if not files or missing:
            raise UploadRefused(
                f"{filename}: {state_name} names no Arrow files, or ones not in the zip "
                f"({', '.join(missing[:3])})"
            )
        features = info.get("features")
        if not isinstance(features, dict):
            raise UploadRefused(f"{filename}: {folder / 'dataset_info.json'} has no features")
        # a DatasetDict's splits are folders beside its dataset_dict.json; a Dataset is one
        in_dict = str(folder.parent / "dataset_dict.json").removeprefix("./") in members
        name = folder.name if in_dict else "train"
        splits.append(_split(name, files, features, filename, modality))
    if not splits:
        raise UploadRefused(f"{filename}: no `state.json` of a saved Hugging Face dataset")
    return splits


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_member(archive: zipfile.ZipFile, name: str, filename: str) -> dict[str, Any]:
    try:
        info = archive.getinfo(name)
    except KeyError as error:
        raise UploadRefused(f"{filename}: {name} is missing") from error
    if info.file_size > MAX_METADATA_BYTES:
        raise UploadRefused(f"{filename}: {name} is too large for dataset metadata")
    try:
        found = json.loads(archive.read(info))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UploadRefused(f"{filename}: {name} is not valid JSON") from error
    if not isinstance(found, dict):
        raise UploadRefused(f"{filename}: {name} is not a JSON object")
    return found


def _split(
    name: str, files: list[str], features: dict[str, Any], filename: str, modality: str
) -> Split:
    def kind(feature: Any) -> str | None:
        return feature.get("_type") if isinstance(feature, dict) else None

    if modality == "image":
        images = [column for column, f in features.items() if kind(f) == "Image"]
        if not images:
            raise UploadRefused(f"{filename}: split {name} has no Image column")
        item_column = images[0]
    else:
        strings = [
            c for c, f in features.items() if kind(f) == "Value" and f.get("dtype") == "string"
        ]
        named = [c for c in TEXT_COLUMNS if c in strings]
        if not named:
            raise UploadRefused(
                f"{filename}: split {name} has no text column ({', '.join(TEXT_COLUMNS)})"
            )
        item_column = named[0]

    def class_label(feature: Any) -> list[str] | None:
        if kind(feature) == "ClassLabel" and isinstance(feature.get("names"), list):
            return [str(n) for n in feature["names"]]
        return None

    candidates = sorted(features, key=lambda c: (c not in LABEL_COLUMNS, c != "label"))
    for column in candidates:
        feature = features[column]
        names = class_label(feature)
        if names is not None:
            return Split(name, files, item_column, column, names, False)
        if kind(feature) in {"List", "Sequence", "LargeList"}:
            names = class_label(feature.get("feature"))
            if names is not None:
                return Split(name, files, item_column, column, names, True)
    for column in LABEL_COLUMNS:
        feature = features.get(column)
        if kind(feature) == "Value" and feature.get("dtype") in {"string", "large_string"}:  # type: ignore[union-attr]
            return Split(name, files, item_column, column, None, False)
    return Split(name, files, item_column, None, None, False)


def check_labels(splits: list[Split], filename: str, project_labels: list[str]) -> None:
    """Refuse class names the project does not have: they would be labels it cannot take."""
    unknown = {n for s in splits for n in s.class_names or []} - set(project_labels)
    if unknown:
        raise UploadRefused(
            f"{filename}: the dataset's ClassLabel names {', '.join(sorted(unknown)[:20])} "
            f"are not project labels (project labels: {', '.join(project_labels)})"
        )


def _batches(archive: zipfile.ZipFile, member: str, filename: str) -> Iterator[pa.RecordBatch]:
    with archive.open(member) as stream:
        try:
            reader = pa.ipc.open_stream(stream)
            yield from reader
        except (pa.ArrowInvalid, OSError) as error:
            raise UploadRefused(f"{filename}: {member} is not an Arrow stream ({error})") from error


def iter_hf_dataset(
    archive: zipfile.ZipFile,
    splits: list[Split],
    filename: str,
    modality: str,
    max_pixels: int,
    max_member: int,
    max_chars: int,
) -> Iterator[Record | Problem]:
    """Every row of every split as a record, a record batch at a time."""
    for split in splits:
        number = 0
        for member in split.arrow_files:
            try:
                for batch in _batches(archive, member, filename):
                    items = batch.column(split.item_column).to_pylist()
                    labels = (
                        batch.column(split.label_column).to_pylist()
                        if split.label_column
                        else [None] * len(items)
                    )
                    for value, label in zip(items, labels, strict=True):
                        yield _record(
                            split, number, value, label, modality, max_pixels, max_member, max_chars
                        )
                        number += 1
            except UploadRefused as error:
                yield Problem(member, str(error))


def _names(split: Split, value: Any) -> list[str] | None:
    if value is None:
        return None
    raw = value if isinstance(value, list) else [value]
    if split.class_names is None:
        return [str(v) for v in raw if v is not None and str(v).strip()] or None
    # -1 is how `datasets` writes "no label" in a ClassLabel column
    return [
        split.class_names[v] for v in raw if isinstance(v, int) and 0 <= v < len(split.class_names)
    ]


def _record(
    split: Split,
    number: int,
    value: Any,
    label: Any,
    modality: str,
    max_pixels: int,
    max_member: int,
    max_chars: int,
) -> Record | Problem:
    labels = _names(split, label)
    if labels == [] and not split.multilabel:
        labels = None
    name = f"{split.name}/{number}"
    if modality == "text":
        if not isinstance(value, str) or not value.strip():
            return Problem(name, f"{name}: empty or missing {split.item_column}")
        try:
            check_text_length(value, name, max_chars)
        except UploadRefused as error:
            return Problem(name, str(error))
        digest = hashlib.sha256(value.encode()).hexdigest()
        return Record(name=name, content_hash=digest, size=len(value), text=value, labels=labels)
    data = value.get("bytes") if isinstance(value, dict) else None
    path = value.get("path") if isinstance(value, dict) else None
    if path:
        name = f"{split.name}/{PurePosixPath(str(path)).name}"
    if not isinstance(data, bytes):
        return Problem(name, f"{name}: the image's bytes are not in the dataset (only a path)")
    if len(data) > max_member:
        return too_large(name, max_member)
    try:
        return image_record(data, name, max_pixels, labels)
    except UploadRefused as error:
        return Problem(name, str(error))
