"""Model versions: numbering, naming metrics, writing a version's files and activating it.

Numbering. A version's number keys its files, its pool scores and (for a fine-tune) the
pool's embedding generation, so two writers must never take the same one. Head trainings of a
project run one at a time, but a fine-tune runs beside them: it needs its number when its
training ends, to re-embed the pool under it, minutes before its row exists. The source of
truth is the version rows plus the numbers fine-tune jobs reserved (``Job.params["version"]``,
never released: a failed fine-tune leaves a gap, not a number someone else's files may meet).
Whoever takes a number reads both and makes it visible (its row, or its reservation) before
releasing the project's ``model-version`` lock (`new_version_number`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from redis import Redis
from sqlmodel import Session, col, func, select, update

from filament import activity, jobs
from filament.core.redis import project_lock
from filament.db.models import ActivityAction, Job, ModelVersion, Project, WebhookEvent
from filament.ml.metrics import primary_name
from filament.models.artifacts import ClusterPlan, model_prefix, save_scores, scores_key
from filament.storage import Storage
from filament.webhooks import events

KEEP_SCORES = 3  # older versions keep their weights (for download), not their pool scores


def named_metrics(metrics: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """Per-class / per-label entries keyed by label name (the ML core keys them by column)."""
    named = dict(metrics, labels=labels)
    for key in ("per_class", "per_label"):
        if isinstance(metrics.get(key), dict):
            named[key] = {
                labels[int(k)] if k.isdigit() and int(k) < len(labels) else k: v
                for k, v in metrics[key].items()
            }
    return named


def primary_metric(metrics: dict[str, Any], multilabel: bool) -> float | None:
    """The number versions are compared by: accuracy, or micro-F1 for multi-label."""
    value = metrics.get(primary_name(multilabel))
    return float(value) if isinstance(value, int | float) else None


def get_version(session: Session, project_id: int, version: int) -> ModelVersion | None:
    return session.exec(
        select(ModelVersion).where(
            ModelVersion.project_id == project_id, ModelVersion.version == version
        )
    ).first()


def next_version(session: Session, project_id: int) -> int:
    """One past every recorded or reserved number; take it through `new_version_number`."""
    latest = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    ).one()
    reserved = session.exec(
        select(Job.params).where(Job.project_id == project_id, Job.type == jobs.FINETUNE)
    ).all()
    numbers = [int(p["version"]) for p in reserved if isinstance(p.get("version"), int)]
    return max([latest or 0, *numbers]) + 1


@contextmanager
def new_version_number(session: Session, redis: Redis, project_id: int) -> Iterator[int]:
    """The project's next version number; the caller records its row (and commits) inside the
    block, where no other writer can take the same number."""
    with project_lock(redis, "model-version", project_id):
        yield next_version(session, project_id)


def reserve_version(session: Session, redis: Redis, job_id: int) -> int:
    """A number for the fine-tune job ``job_id`` in its project, kept in its params while it
    re-embeds the pool, so that the heads trained meanwhile take the numbers after it."""
    job = session.get(Job, job_id)
    assert job is not None and job.project_id is not None
    with new_version_number(session, redis, job.project_id) as version:
        job.params = {**job.params, "version": version}
        session.add(job)
        session.commit()
    return version


def record_version(
    session: Session,
    storage: Storage,
    project: Project,
    version: int,
    files: dict[str, bytes],
    scores: tuple[np.ndarray, np.ndarray] | None,
    active: bool,
    plan: ClusterPlan | None = None,
    queue_probs: np.ndarray | None = None,
    **fields: Any,
) -> ModelVersion:
    """Write a version's files (and pool scores), then its row; an active one replaces the last.

    Files are written before the row, so a worker killed midway leaves no half-made version.
    """
    assert project.id is not None
    prefix = model_prefix(project.id, version)
    for name, data in files.items():
        storage.put_bytes(f"{prefix}/{name}", data)
    if scores is not None:
        save_scores(storage, project.id, version, *scores, plan=plan, queue_probs=queue_probs)
    if active:
        session.exec(
            update(ModelVersion)
            .where(col(ModelVersion.project_id) == project.id)
            .values(active=False)
        )
    row = ModelVersion(
        project_id=project.id, version=version, storage_key=prefix, active=active, **fields
    )
    session.add(row)
    if active:
        metric = primary_metric(fields.get("metrics", {}), project.task.multilabel)
        activity.record(
            session,
            project.id,
            None,
            ActivityAction.model_activated,
            ("model", version),
            kind=str(fields.get("kind", "")),
            label_count=fields.get("label_count"),
            metric=metric,
        )
        data = events.model_data(row, primary_name(project.task.multilabel), metric)
        events.emit(session, project.id, WebhookEvent.model_activated, data)
    session.commit()
    _drop_old_scores(session, storage, project.id, version)
    return row


def _drop_old_scores(session: Session, storage: Storage, project_id: int, version: int) -> None:
    old = session.exec(
        select(ModelVersion.version).where(
            ModelVersion.project_id == project_id,
            col(ModelVersion.version) <= version - KEEP_SCORES,
            col(ModelVersion.version) > version - KEEP_SCORES - 5,
            col(ModelVersion.active).is_(False),
        )
    ).all()
    for number in old:
        storage.delete(scores_key(project_id, number))
