"""One project: uploading, the labeling queue, waiting for models, scoring, exporting and
downloading archives."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from filament_client import routes
from filament_client.errors import Conflict, FilamentTimeout
from filament_client.models import (
    Item,
    Job,
    ModelVersion,
    ScoreResult,
    Status,
    Upload,
    UploadedFile,
    page_of,
)
from filament_client.uploads import (
    ProgressCallback,
    ProgressReader,
    SourceFile,
    Tracker,
    chunks,
    prepare,
)

if TYPE_CHECKING:
    from filament_client.client import Client

# what one /score request carries (the server's limits are 1,000 texts and 256 images)
TEXTS_PER_REQUEST = 500
IMAGES_PER_REQUEST = 64
# a file this large goes to storage directly when the server has S3 (`/uploads`), instead
# of through the API process
DIRECT_UPLOAD_BYTES = 64 * 1024**2
# an upload request carries at most this much; more becomes several ingest jobs
REQUEST_BYTES = 512 * 1024**2
DOWNLOAD_CHUNK = 256 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Project:
    """A project the caller is a member of (`Client.project`, `Client.create_project`)."""

    SCHEMA: ClassVar[str] = "ProjectPublic"
    FIELDS: ClassVar[tuple[str, ...]] = ("id", "name", "task", "labels", "role", "backbone")

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self.client = client
        self.raw = data
        self.id: int = data["id"]
        self.name: str = data["name"]
        self.task: str = data["task"]
        self.labels: list[str] = list(data["labels"])
        self.role: str = data.get("role", "")
        self.backbone: str = data.get("backbone", "")
        self.queue_reason: str | None = None  # why the last `queue()` ended
        self._annotated: set[int] = set()

    def __repr__(self) -> str:
        return f"Project(id={self.id}, name={self.name!r}, task={self.task!r})"

    @property
    def is_image(self) -> bool:
        return self.task.startswith("image")

    def refresh(self) -> Project:
        return self.client.project(self.id)

    def status(self) -> Status:
        return Status.from_json(self.client.call(routes.STATUS, project_id=self.id).json())

    def models(self) -> list[ModelVersion]:
        return page_of(ModelVersion, self.client.call(routes.MODELS, project_id=self.id).json())

    def items(
        self, status: str | None = None, dataset: str | None = None, page: int = 500
    ) -> Iterator[Item]:
        """Every item in id order (`status`: labeled or unlabeled), fetched a page at a time."""
        params: dict[str, Any] = {"limit": page}
        if status:
            params["status"] = status
        if dataset:
            params["dataset"] = dataset
        after = 0
        while True:
            answer = self.client.call(
                routes.ITEMS, project_id=self.id, params={**params, "after": after}
            ).json()
            listed = page_of(Item, answer)
            yield from listed
            if len(listed) < page:
                return
            after = listed[-1].id

    # --- uploading ------------------------------------------------------------------------

    def upload(
        self,
        *sources: Any,
        dataset: str = "default",
        progress: ProgressCallback | None = None,
        direct: bool | None = None,
        wait: bool = False,
        timeout: float = 3600.0,
    ) -> list[Upload]:
        """Upload files, folders and DataFrames (see `filament_client.uploads` for how each is
        sent). `progress(bytes_sent, bytes_total)` follows the bytes. Large files go straight
        to storage when the server has S3 (`direct=None`: when worth it; True: always, or
        Conflict); more than REQUEST_BYTES are split into several requests. One `Upload` (an
        ingest job) per request; with `wait`, returns once every ingest job is done and every
        item is embedded (ready to label), or raises JobFailed / FilamentTimeout."""
        with tempfile.TemporaryDirectory(prefix="filament-upload-") as workdir:
            files = prepare(sources, self.is_image, Path(workdir))
            tracker = Tracker(sum(f.size for f in files), progress)
            biggest = max(f.size for f in files)
            uploads: list[Upload] | None = None
            if direct or (direct is None and biggest >= DIRECT_UPLOAD_BYTES):
                try:
                    uploads = [self._upload_direct(files, dataset, tracker)]
                except Conflict:  # the server stores locally: no presigned URLs
                    if direct:
                        raise
            if uploads is None:
                uploads = [
                    self._upload_multipart(batch, dataset, tracker, offset)
                    for offset, batch in _batches(files, REQUEST_BYTES)
                ]
        if wait:
            deadline = time.monotonic() + timeout
            for upload in uploads:
                self.client.wait_for_job(upload, timeout=max(deadline - time.monotonic(), 0))
            self.wait_until_embedded(timeout=max(deadline - time.monotonic(), 0))
        return uploads

    def wait_until_embedded(
        self,
        *,
        timeout: float = 3600.0,
        poll: float = 0.5,
        on_status: Callable[[Status], None] | None = None,
    ) -> Status:
        """Wait until every item is embedded, so the queue can serve it (an upload's ingest
        job stores the items; an embedding job then makes them ready)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if on_status is not None:
                on_status(status)
            if status.items_ready >= status.items_total:
                return status
            if time.monotonic() > deadline:
                raise FilamentTimeout(
                    f"{status.items_ready} of {status.items_total} items embedded after "
                    f"{timeout:.0f} s"
                )
            time.sleep(poll)

    def _upload_multipart(
        self, files: Sequence[SourceFile], dataset: str, tracker: Tracker, offset: int
    ) -> Upload:
        with ExitStack() as stack:
            parts = [
                (
                    "files",
                    (
                        file.name,
                        ProgressReader(stack.enter_context(file.path.open("rb")), tracker, key),
                        "application/octet-stream",
                    ),
                )
                for key, file in enumerate(files, start=offset)
            ]
            answer = self.client.call(
                routes.UPLOAD_ITEMS, project_id=self.id, files=parts, data={"dataset": dataset}
            )
        return Upload.from_json(answer.json())

    def _upload_direct(self, files: Sequence[SourceFile], dataset: str, tracker: Tracker) -> Upload:
        plan = self.client.call(
            routes.PLAN_DIRECT_UPLOAD,
            project_id=self.id,
            json={"files": [{"name": f.name, "size": f.size} for f in files], "dataset": dataset},
        ).json()
        for key, (file, target) in enumerate(zip(files, plan["files"], strict=True)):
            with file.path.open("rb") as handle:
                # the storage's URL, signed for this size (no Filament token goes there)
                self.client.storage_request(
                    "PUT",
                    target["url"],
                    content=chunks(handle, tracker, key),
                    headers={"Content-Length": str(file.size)},
                )
        done = self.client.call(
            routes.COMPLETE_DIRECT_UPLOAD, project_id=self.id, upload_id=plan["upload_id"]
        ).json()
        return Upload(
            job_id=done["job_id"],
            dataset=dataset,
            files=[UploadedFile(name=f.name, size=f.size) for f in files],
            raw=done,
        )

    # --- labeling -------------------------------------------------------------------------

    def queue(self, batch: int = 10, strategy: str | None = None) -> Iterator[Item]:
        """The items the queue serves the caller, leased to them, until it has none (then
        `queue_reason` says why). Items taken and not annotated are not served again by this
        iterator (it excludes them), so skipping one is just not annotating it."""
        served: set[int] = set()
        while True:
            held = sorted(served - self._annotated)
            params: dict[str, Any] = {"limit": batch}
            if strategy:
                params["strategy"] = strategy
            if held:
                params["exclude"] = ",".join(map(str, held))
            answer = self.client.call(routes.QUEUE, project_id=self.id, params=params).json()
            fresh = [item for item in page_of(Item, answer) if item.id not in served]
            if not fresh:
                self.queue_reason = answer.get("reason")
                return
            for item in fresh:
                served.add(item.id)
                yield item

    def annotate(self, item: Item | int, labels: str | Iterable[str]) -> None:
        """Label an item (a single-label task takes one label; a multi-label one any list,
        the empty one included)."""
        item_id = item.id if isinstance(item, Item) else item
        chosen = [labels] if isinstance(labels, str) else list(labels)
        self.client.call(
            routes.ANNOTATE, project_id=self.id, item_id=item_id, json={"labels": chosen}
        )
        self._annotated.add(item_id)

    # --- models ---------------------------------------------------------------------------

    def wait_for_model(
        self,
        min_labels: int | None = None,
        newer_than: int | None = None,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        on_status: Callable[[Status], None] | None = None,
    ) -> Status:
        """Wait until the active model is trained on at least `min_labels` labels (default:
        every label the project has now), is newer than version `newer_than` if given, and no
        training is going on. Returns the status then; FilamentTimeout past `timeout`."""
        deadline = time.monotonic() + timeout
        target = min_labels
        while True:
            status = self.status()
            if target is None:
                target = status.labeled
            if on_status is not None:
                on_status(status)
            if (
                status.model_version is not None
                and (status.labels_in_model or 0) >= target
                and (newer_than is None or status.model_version > newer_than)
                and not status.training
            ):
                return status
            if time.monotonic() > deadline:
                raise FilamentTimeout(
                    f"no model on {target} labels after {timeout:.0f} s (model "
                    f"v{status.model_version} on {status.labels_in_model} labels, "
                    f"training: {status.training})"
                )
            time.sleep(poll)

    def score_texts(self, texts: Sequence[str]) -> ScoreResult:
        """Probabilities of the active model for each text (sent in batches)."""
        batches = [
            {"type": "text", "texts": list(texts[start : start + TEXTS_PER_REQUEST])}
            for start in range(0, len(texts), TEXTS_PER_REQUEST)
        ]
        return self._score_batches(
            lambda body: self.client.call(routes.SCORE, project_id=self.id, json=body), batches
        )

    def score_images(self, images: Sequence[str | os.PathLike[str] | bytes]) -> ScoreResult:
        """Probabilities for each image: file paths or bytes (sent as multipart files)."""
        contents = [
            image if isinstance(image, bytes) else Path(image).read_bytes() for image in images
        ]
        batches = [
            contents[start : start + IMAGES_PER_REQUEST]
            for start in range(0, len(contents), IMAGES_PER_REQUEST)
        ]
        return self._score_batches(
            lambda batch: self.client.call(
                routes.SCORE_FILES,
                project_id=self.id,
                files=[("files", (f"image-{n}", data)) for n, data in enumerate(batch)],
            ),
            batches,
        )

    def _score_batches(self, send: Callable[[Any], Any], batches: list[Any]) -> ScoreResult:
        """All batches scored by one model version: if the model changed in between (a
        training finished), once more from the start."""
        if not batches:
            raise ValueError("nothing to score")
        for _ in range(2):
            results = [ScoreResult.from_json(send(batch).json()) for batch in batches]
            if len({result.model_version for result in results}) == 1:
                first = results[0]
                rows = [row for result in results for row in result.scores]
                return ScoreResult(
                    labels=first.labels,
                    scores=rows,
                    model_version=first.model_version,
                    model_kind=first.model_kind,
                    raw={**first.raw, "scores": rows},
                )
        raise Conflict(409, "the model changed while scoring; try again")

    # --- exports and archives -------------------------------------------------------------

    def export(
        self,
        path: str | os.PathLike[str],
        format: str = "csv",
        content: str = "labels",
        progress: ProgressCallback | None = None,
        *,
        unlabeled: bool = False,
        annotators: bool = False,
    ) -> Path:
        """Stream the export into a file. `format`: csv or jsonl; or a dataset to train on:
        parquet (Hugging Face `datasets`: `load_dataset("parquet", data_files=path)` gives
        the label back as a ClassLabel) or imagefolder (image projects: a zip of
        label/filename). `content`: labels, one row per annotation; predictions, the active
        model's for every item; items, each labeled item's final label (what parquet and
        imagefolder carry). `unlabeled`: parquet and imagefolder carry unlabeled items too;
        `annotators`: every annotator's labels (content=items, and parquet)."""
        target = Path(path)
        params: dict[str, str] = {"format": format, "content": content}
        if unlabeled:
            params["unlabeled"] = "true"
        if annotators:
            params["annotators"] = "true"
        path_ = routes.EXPORT.format(project_id=self.id)
        with self.client.stream("GET", path_, params=params) as answer:
            _save(answer.iter_bytes(DOWNLOAD_CHUNK), target, None, progress)
        return target

    def download_model(
        self,
        path: str | os.PathLike[str] | None = None,
        version: int | None = None,
        *,
        format: str = "onnx",
        quantize: str | None = None,
        timeout: float = 1800.0,
        progress: ProgressCallback | None = None,
        on_building: Callable[[Job], None] | None = None,
    ) -> Path:
        """Save a version's archive (default: the active one) as a zip at `path` (a file, or
        a folder to put `filament-project-{id}-v{version}-{format}.zip` in; `format="all"`:
        `filament-project-{id}-v{version}.zip`). `format`: `onnx` (the default, with
        `predict.py`), `torchscript`, `safetensors`, or `all` three; `quantize="int8"` (ONNX)
        asks for the int8 model, which the server refuses (`Conflict`, 409, saying what it
        measured) when it would cost more than a point of accuracy. The first download of a
        version answers 202 while a worker builds it: this follows the job at `Location`
        (`on_building` sees its progress) and asks again after `Retry-After`."""
        if version is None:
            version = self.status().model_version
            if version is None:
                raise Conflict(409, "This project has no model yet: label a few items first")
        target = Path(path) if path is not None else Path.cwd()
        if target.is_dir():
            suffix = "" if format == "all" else f"-{format}" + (f"-{quantize}" if quantize else "")
            target = target / f"filament-project-{self.id}-v{version}{suffix}.zip"
        url = routes.DOWNLOAD_MODEL.format(project_id=self.id, version=version)
        params = {"format": format, **({"quantize": quantize} if quantize else {})}
        deadline = time.monotonic() + timeout
        while True:
            with self.client.stream("GET", url, params=params) as answer:
                if answer.status_code in REDIRECTS:  # S3: a presigned URL of the storage
                    with self.client.storage_stream("GET", answer.headers["Location"]) as stored:
                        _save_response(stored, target, progress)
                    return target
                if answer.status_code != 202:
                    _save_response(answer, target, progress)
                    return target
                answer.read()
                wait = float(answer.headers.get("Retry-After") or 2)
                location = answer.headers.get("Location")
                job = Job.from_json(answer.json()["job"])
            if on_building is not None:
                on_building(job)
            # the build's job says when asking again is worth it
            while True:
                if time.monotonic() > deadline:
                    raise FilamentTimeout(f"the archive of v{version} is still being built")
                time.sleep(wait)
                if location is None or job.finished:
                    break
                job = Job.from_json(self.client.request("GET", location).json())
                if on_building is not None:
                    on_building(job)
                if job.finished:
                    break


def _save_response(
    response: httpx.Response, target: Path, progress: ProgressCallback | None
) -> None:
    size = response.headers.get("Content-Length")
    _save(response.iter_bytes(DOWNLOAD_CHUNK), target, int(size) if size else None, progress)


def _save(
    body: Iterable[bytes], target: Path, total: int | None, progress: ProgressCallback | None
) -> None:
    """Write a streamed body to `target` through a temporary file beside it, so an interrupted
    download never leaves a truncated file under the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    done = 0
    try:
        with partial.open("wb") as handle:
            for chunk in body:
                handle.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _batches(files: Sequence[SourceFile], limit: int) -> Iterator[tuple[int, list[SourceFile]]]:
    """Consecutive groups of files of at most `limit` bytes (a bigger file alone), each with
    the index of its first file (its progress key)."""
    batch: list[SourceFile] = []
    start, size = 0, 0
    for number, file in enumerate(files):
        if batch and size + file.size > limit:
            yield start, batch
            batch, start, size = [], number, 0
        batch.append(file)
        size += file.size
    if batch:
        yield start, batch
