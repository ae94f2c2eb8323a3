"""The downloadable model archives of a version: weights (safetensors), TorchScript and ONNX
exports checked against PyTorch, labels, preprocessing, a model card and a standalone
`predict.py`. One archive per variant (`ArchiveVariant`: every format, as archives were before
formats could be chosen; or one format; or int8 ONNX), each built once, then kept in storage
beside the version's files. An int8 build that the measured accuracy refuses leaves a refusal
record there instead (`refusal`), so the answer (409, with the figures) is not recomputed."""

import copy
import json
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from redis import Redis
from sqlmodel import Session, col, select

from filament import __version__, jobs
from filament.db.models import Item, ItemStatus, Job, JobStatus, ModelKind, ModelVersion, Project
from filament.jobs.rows import new_job
from filament.labeling.consensus import training_labels
from filament.ml.classifier import ClassifierModel
from filament.ml.embedder import load_embedder
from filament.ml.export import ARCHIVE_FORMATS, Evaluation, QuantizationRefused, export_files
from filament.models.archive_variants import ALL, ArchiveFormat, ArchiveVariant
from filament.models.encoders import finetuned_model, item_inputs
from filament.models.serving import load_head
from filament.storage import Storage

SAMPLES = 4
MAX_EVALUATION_ITEMS = 500  # labeled items an int8 model is judged on (two passes over them)
MIN_AUDIT_ITEMS = 30  # audit labels (held-out) preferred over all labels from this many on
# torch's ONNX export keeps global state: two exports at once in one process fail
# ("GLOBALS.in_onnx_export must be False"), so a process builds one archive at a time
_export_lock = threading.Lock()
CLAIM_SECONDS = 24 * 3600  # how long the build job of a version is remembered
FAILED_SECONDS = 600  # a failed build is reported (409) this long, then a request retries it


def archive_key(model: ModelVersion, variant: ArchiveVariant = ALL) -> str:
    return f"{model.storage_key}/archive{variant.suffix}.zip"  # all: archive.zip, as before


def refusal_key(model: ModelVersion, variant: ArchiveVariant) -> str:
    """Where a refused int8 build's measurements are kept (a version's models never change)."""
    return f"{model.storage_key}/archive{variant.suffix}.refused.json"


def refusal(
    storage: Storage, model: ModelVersion, variant: ArchiveVariant
) -> dict[str, Any] | None:
    """`{"reason", "quantization"}` when this variant was refused for the version."""
    key = refusal_key(model, variant)
    if variant.quantize is None or not storage.exists(key):
        return None
    found: dict[str, Any] = json.loads(storage.get_bytes(key))
    return found


def _build_name(project_id: int, version: int, variant: ArchiveVariant) -> str:
    # `all` keeps the names from before variants, so running builds stay recognised
    return f"{project_id}:{version}" + ("" if variant == ALL else f":{variant.name}")


def _claim_key(project_id: int, version: int, variant: ArchiveVariant = ALL) -> str:
    return f"filament:archive:{_build_name(project_id, version, variant)}"


def build_job_id(project_id: int, version: int, variant: ArchiveVariant = ALL) -> str:
    """The arq job id of a version's build: deterministic, so arq refuses a second one."""
    return f"{jobs.BUILD_ARCHIVE}:{_build_name(project_id, version, variant)}"


def claim_archive_build(
    session: Session,
    redis: Redis,
    project_id: int,
    version: int,
    user_id: int | None,
    variant: ArchiveVariant = ALL,
) -> tuple[Job, bool]:
    """The job that builds (or built) a version's archive, and whether this call created it.

    Parallel requests build once: a Redis SET NX elects the caller that creates the job row;
    the others wait the few milliseconds until its id is stored and answer with that job."""
    key = _claim_key(project_id, version, variant)
    for _ in range(2):
        if redis.set(key, "claiming", nx=True, ex=30):
            job = new_job(
                session,
                project_id,
                user_id,
                jobs.BUILD_ARCHIVE,
                "waiting for a worker to build the archive"
                + ("" if variant == ALL else f" ({variant.name})"),
                params={"version": version, **variant.params()},
            )
            redis.set(key, str(job.id), ex=CLAIM_SECONDS)
            return job, True
        deadline = time.monotonic() + 10
        while (value := redis.get(key)) == b"claiming" and time.monotonic() < deadline:
            time.sleep(0.02)
        found = session.get(Job, int(value)) if value and value.isdigit() else None
        if found is not None:
            session.refresh(found)
            if found.status != JobStatus.done:  # done without an archive: it was removed
                return found, False
        redis.delete(key)  # a stale claim: the next round makes a new job
    raise RuntimeError(f"could not claim the archive build of version {version}")


def forget_failed_build(
    redis: Redis, project_id: int, version: int, variant: ArchiveVariant = ALL
) -> None:
    """Keep a failed build's answer (409) for a while, then let a request try again."""
    redis.expire(_claim_key(project_id, version, variant), FAILED_SECONDS)


def model_card(project: Project, model: ModelVersion, labels: list[str]) -> str:
    metrics = {k: v for k, v in model.metrics.items() if isinstance(v, int | float)}
    validation = "held-out split" if model.kind == ModelKind.finetuned else "stratified k-fold CV"
    lines = [
        f"# {project.name} — model v{model.version}",
        "",
        f"- task: {project.task.value}",
        f"- kind: {model.kind} (backbone {model.backbone}"
        + (f", fine-tuned in v{model.base_version}" if model.base_version else "")
        + ")",
        f"- labels ({len(labels)}): {', '.join(labels)}",
        f"- trained on {model.label_count} labeled items",
        f"- created: {model.created_at.isoformat()} by Filament {__version__}",
        "",
        f"## Metrics ({validation})",
        "",
        *[f"- {name}: {value:.4f}" for name, value in metrics.items()],
    ]
    return "\n".join(lines) + "\n"


def classifier_for(
    storage: Storage, project: Project, model: ModelVersion, weights_dir: Path | None
) -> ClassifierModel:
    """The whole network of a version: a fine-tuned model, or the head on its backbone."""
    if model.kind == ModelKind.finetuned:
        return finetuned_model(storage, project.id or 0, model.version)
    head = load_head(storage, model)
    if model.base_version is None:
        return ClassifierModel.from_head(load_embedder(project.backbone, weights_dir), head)
    composed = copy.deepcopy(finetuned_model(storage, project.id or 0, model.base_version))
    composed.set_head(head)
    return composed.eval()


def ensure_archive(
    session: Session,
    storage: Storage,
    project: Project,
    model: ModelVersion,
    weights_dir: Path | None,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
    variant: ArchiveVariant = ALL,
) -> str:
    """The storage key of the version's archive, built first if it is not there yet (by the
    worker's build job; the CLI calls it directly). `QuantizationRefused` when int8 is not
    within the tolerance; the refusal is stored (`refusal`) before it is raised."""
    key = archive_key(model, variant)
    if storage.exists(key):
        return key
    with _export_lock:
        if storage.exists(key):  # built by another thread while this one waited
            return key
        try:
            _build(session, storage, project, model, weights_dir, progress, key, variant)
        except QuantizationRefused as refused:
            record = {"reason": str(refused), "quantization": refused.report.as_json()}
            storage.put_bytes(refusal_key(model, variant), json.dumps(record).encode())
            raise
    return key


def evaluation_set(
    session: Session, storage: Storage, project: Project, labels: list[str]
) -> Evaluation:
    """The labeled items an int8 model is judged on: the audit items (held out: drawn at
    random, so their accuracy is unbiased) when there are enough, else every labeled item.
    The newest first, at most MAX_EVALUATION_ITEMS. `labels`: the model's, in its column order."""
    final = training_labels(session, project)
    # the audit share is a few percent of the items: their ids are few, the labeled ones need not be
    audited = session.exec(select(Item.id).where(Item.project_id == project.id, col(Item.audit)))
    audit = {item_id for item_id in audited if item_id in final}
    source = "audit" if len(audit) >= MIN_AUDIT_ITEMS else "labeled"
    ids = sorted(audit if source == "audit" else final, reverse=True)[:MAX_EVALUATION_ITEMS]
    items = session.exec(
        select(Item).where(col(Item.id).in_(ids), Item.status == ItemStatus.ready)
    ).all()
    items = sorted(items, key=lambda item: item.id or 0)
    truth = np.zeros((len(items), len(labels)), dtype=bool)
    for row, item in enumerate(items):
        for label in final[item.id or 0]:
            if label in labels:
                truth[row, labels.index(label)] = True
    return Evaluation(item_inputs(storage, items), truth, source)


def _build(
    session: Session,
    storage: Storage,
    project: Project,
    model: ModelVersion,
    weights_dir: Path | None,
    progress: Callable[[float, str], None],
    key: str,
    variant: ArchiveVariant,
) -> None:
    progress(0.1, "loading the model")
    labels = model.metrics.get("labels") or project.labels
    samples = session.exec(
        select(Item)
        .where(Item.project_id == project.id, Item.status == ItemStatus.ready)
        .order_by(col(Item.id))
        .limit(SAMPLES)
    ).all()
    network = classifier_for(storage, project, model, weights_dir)
    formats = ARCHIVE_FORMATS if variant.format == ArchiveFormat.all else (variant.format.value,)
    evaluation = None
    if variant.quantize is not None:
        evaluation = evaluation_set(session, storage, project, list(labels))
    progress(
        0.3,
        "exporting: safetensors, TorchScript and ONNX, checked against PyTorch"
        if variant == ALL
        else f"exporting {variant.name}"
        + (f", measured on {len(evaluation.truth)} labeled items" if evaluation else ""),
    )
    files = export_files(
        network,
        load_embedder(project.backbone, weights_dir),
        list(labels),
        project.task.multilabel,
        item_inputs(storage, list(samples)),
        model_card(project, model, list(labels)),
        formats,
        evaluation,
    )
    progress(0.8, "writing the archive")
    with tempfile.TemporaryFile() as spool:  # archives of image models are hundreds of MB
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in sorted(files.items()):
                archive.writestr(name, data)
        spool.seek(0)
        storage.put_stream(key, spool)
