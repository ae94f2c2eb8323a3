"""Uploads that are another tool's export, told apart by their content: a Label Studio JSON
export (`labelstudio`), a zip of one with its images (`labelstudio_zip`), a zipped Hugging
Face `save_to_disk` directory (`hf_dataset`). Checked in the request like every upload (a
4xx naming the problem: malformed JSON, unknown labels, missing columns), read in the same
ingest job as items with imported labels."""

import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from filament.uploads import hf_disk, labelstudio
from filament.uploads.ingest import Problem, Record, UploadRefused

IMPORT_KINDS = ("labelstudio", "labelstudio_zip", "hf_dataset")


def zip_kind(stream: BinaryIO) -> str:
    """What a zip that passed `check_zip` holds: a saved HF dataset, an LS export, or images."""
    with zipfile.ZipFile(stream) as archive:
        if hf_disk.is_hf_dataset(archive):
            kind = "hf_dataset"
        elif labelstudio.find_export(archive) is not None:
            kind = "labelstudio_zip"
        else:
            kind = "zip"
    stream.seek(0)
    return kind


def check_import(
    stream: BinaryIO, kind: str, filename: str, modality: str, labels: list[str] | None
) -> None:
    """UploadRefused unless the export can be read into this project (its labels checked
    when `labels` is given)."""
    try:
        if kind == "labelstudio":
            tasks = labelstudio.read_tasks(stream, filename)
            labelstudio.check_tasks(tasks, filename, modality, labels)
        elif kind == "labelstudio_zip":
            with zipfile.ZipFile(stream) as archive:
                tasks = _zipped_tasks(archive, filename)
                images = labelstudio.ZipImages(archive)
                labelstudio.check_tasks(tasks, filename, modality, labels, images)
        else:
            with zipfile.ZipFile(stream) as archive:
                splits = hf_disk.find_splits(archive, filename, modality)
                if labels is not None:
                    hf_disk.check_labels(splits, filename, labels)
    finally:
        stream.seek(0)


def _zipped_tasks(archive: zipfile.ZipFile, filename: str) -> list[dict[str, Any]]:
    info = labelstudio.find_export(archive)
    if info is None:
        raise UploadRefused(f"{filename}: no Label Studio JSON export in the zip")
    if info.file_size > labelstudio.MAX_JSON_BYTES:
        raise UploadRefused(f"{filename}: {info.filename} is too large")
    with archive.open(info) as member:
        return labelstudio.read_tasks(member, f"{filename}: {info.filename}")


def iter_import(
    stream: BinaryIO,
    kind: str,
    filename: str,
    modality: str,
    project_labels: list[str],
    max_pixels: int,
    max_member: int,
    max_chars: int,
) -> Iterator[Record | Problem]:
    """The export's items with their labels (the worker's side of `check_import`)."""
    try:
        if kind == "labelstudio":
            tasks = labelstudio.read_tasks(stream, filename)
            yield from labelstudio.iter_labelstudio(
                tasks, filename, modality, project_labels, None, max_pixels, max_member, max_chars
            )
            return
        with zipfile.ZipFile(stream) as archive:
            if kind == "labelstudio_zip":
                tasks = _zipped_tasks(archive, filename)
                yield from labelstudio.iter_labelstudio(
                    tasks,
                    filename,
                    modality,
                    project_labels,
                    labelstudio.ZipImages(archive),
                    max_pixels,
                    max_member,
                    max_chars,
                )
            else:
                splits = hf_disk.find_splits(archive, filename, modality)
                yield from hf_disk.iter_hf_dataset(
                    archive, splits, filename, modality, max_pixels, max_member, max_chars
                )
    except (UploadRefused, zipfile.BadZipFile) as error:
        yield Problem(filename, str(error))
