"""Model versions: numbering, naming metrics, writing a version's files and activating it."""

from typing import Any

import numpy as np
from sqlmodel import Session, col, func, select, update

from filament import activity
from filament.db.models import ActivityAction, ModelVersion, Project, WebhookEvent
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
    latest = session.exec(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    ).one()
    return (latest or 0) + 1


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
