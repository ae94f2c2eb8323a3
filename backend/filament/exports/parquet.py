"""The Hugging Face `datasets` export: one Parquet file whose schema metadata carries the
`datasets` features (key `huggingface`, as `datasets` itself writes it), so that
`load_dataset("parquet", data_files=...)` gives the label column back as a `ClassLabel`
(single-label) or a list of `ClassLabel` (multi-label), and image columns as `Image`.

Rows are written as row groups of at most ROWS_PER_GROUP items or GROUP_BYTES of image bytes,
each handed to the response as soon as it is written: memory stays at one row group."""

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from filament.db.models import Project
from filament.exports.rows import ExportItem
from filament.exports.sink import BlobReader, Drain, read_blob

ROWS_PER_GROUP = 1000
GROUP_BYTES = 32 * 1024 * 1024  # of image bytes in one row group

ANNOTATION = pa.struct(
    [("annotator", pa.string()), ("labels", pa.list_(pa.string())), ("source", pa.string())]
)
IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def _value(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "_type": "Value"}


def features(project: Project, annotations: bool) -> dict[str, Any]:
    """The `datasets` features of the export, as `datasets.Features.to_dict()` writes them
    (datasets >= 4 names a list feature `List`)."""
    class_label = {"names": list(project.labels), "_type": "ClassLabel"}
    found: dict[str, Any] = {"item_id": _value("int64"), "name": _value("string")}
    found["dataset"] = _value("string")
    if project.task.modality == "image":
        found["image"] = {"_type": "Image"}
    else:
        found["text"] = _value("string")
    if project.task.multilabel:
        found["labels"] = {"feature": class_label, "_type": "List"}
    else:
        found["label"] = class_label
    found["decided_by"] = _value("string")
    if annotations:
        found["annotations"] = {
            "feature": {
                "annotator": _value("string"),
                "labels": {"feature": _value("string"), "_type": "List"},
                "source": _value("string"),
            },
            "_type": "List",
        }
    return found


def schema(project: Project, annotations: bool) -> pa.Schema:
    fields: list[tuple[str, pa.DataType]] = [
        ("item_id", pa.int64()),
        ("name", pa.string()),
        ("dataset", pa.string()),
        ("image", IMAGE) if project.task.modality == "image" else ("text", pa.string()),
        ("labels", pa.list_(pa.int64()))
        if project.task.multilabel
        else ("label", pa.int64()),  # ClassLabel: the label's index, null without one
        ("decided_by", pa.string()),
    ]
    if annotations:
        fields.append(("annotations", pa.list_(ANNOTATION)))
    metadata = {"huggingface": json.dumps({"info": {"features": features(project, annotations)}})}
    return pa.schema(fields, metadata=metadata)


def parquet_export(
    batches: Iterator[list[ExportItem]],
    project: Project,
    storage: BlobReader,
    annotations: bool,
) -> Iterator[bytes]:
    """The Parquet file's bytes, a row group at a time."""
    target = schema(project, annotations)
    index = {label: number for number, label in enumerate(project.labels)}
    images = project.task.modality == "image"
    sink = Drain()
    with pq.ParquetWriter(sink, target, compression="zstd") as writer:
        rows: list[dict[str, Any]] = []
        held = 0
        for batch in batches:
            for item in batch:
                row = _row(item, index, project.task.multilabel, annotations)
                if images:
                    data = read_blob(storage, item.storage_key)
                    row["image"] = {"bytes": data, "path": item.name} if data else None
                    held += len(data or b"")
                else:
                    row["text"] = item.text
                rows.append(row)
                if len(rows) >= ROWS_PER_GROUP or held >= GROUP_BYTES:
                    writer.write_table(pa.Table.from_pylist(rows, schema=target))
                    rows, held = [], 0
                    yield sink.take()
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=target))
    # the footer (schema, row group offsets) is written on close
    yield sink.take()


def _row(
    item: ExportItem, index: dict[str, int], multilabel: bool, annotations: bool
) -> dict[str, Any]:
    # a label the project no longer has (renamed since) cannot be a ClassLabel index
    known = [index[label] for label in item.labels or [] if label in index]
    row: dict[str, Any] = {
        "item_id": item.item_id,
        "name": item.name,
        "dataset": item.dataset,
        "decided_by": item.decided_by,
    }
    if multilabel:
        row["labels"] = known if item.labels is not None else None
    else:
        row["label"] = known[0] if known else None
    if annotations:
        row["annotations"] = [
            {"annotator": a.annotator, "labels": a.labels, "source": a.source}
            for a in item.annotations or []
        ]
    return row
