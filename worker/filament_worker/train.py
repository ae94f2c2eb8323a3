"""The train_head job: fit the light head on labeled embeddings, validate it, score the pool."""

import json
from dataclasses import asdict
from typing import Any

import numpy as np
from filament import jobs
from filament.core.settings import get_settings
from filament.db.models import Item, ModelKind, ModelVersion, Project
from filament.db.session import session_scope
from filament.labeling import agreement
from filament.labeling.consensus import final_labels, training_labels
from filament.labeling.queue import plan_version
from filament.ml.calibration import Calibration, calibrate_multilabel, calibrate_single_label
from filament.ml.heads import mlp_due, standardization_for
from filament.ml.heads import train_head as fit_head
from filament.ml.intervals import LEVEL
from filament.ml.metrics import held_out_metrics, judge
from filament.ml.pool_accuracy import single_label_pool_accuracy
from filament.ml.pool_scoring import predict_pool
from filament.models.artifacts import load_embeddings
from filament.models.finetuning import (
    enqueue_finetune,
    finetunes_on_cpu,
    labels_grown_enough,
    start_finetune_job,
)
from filament.models.pool_scores import uncertainty_of
from filament.models.versions import named_metrics, new_version_number, record_version
from filament.models.warmup import announce
from filament.quality.training import version_quality
from filament.storage import get_storage
from sqlmodel import Session, col, select
from threadpoolctl import threadpool_limits

from filament_worker.common import in_thread, log, project_run, sync_redis


def targets(project: Project, label_sets: list[list[str]]) -> np.ndarray:
    index = {label: i for i, label in enumerate(project.labels)}
    if project.task.multilabel:
        matrix = np.zeros((len(label_sets), len(project.labels)), dtype=np.int64)
        for row, labels in enumerate(label_sets):
            matrix[row, [index[label] for label in labels if label in index]] = 1
        return matrix
    return np.array([index[labels[0]] for labels in label_sets], dtype=np.int64)


AUDIT_LOOKUP_BATCH = 5000  # ids per query: within every database's bound on parameters


def audit_flags(session: Session, project_id: int, item_ids: np.ndarray) -> np.ndarray:
    """Which of ``item_ids`` were drawn for auditing."""
    audit: list[int] = []
    # among the labeled items by id (the primary key), not by a scan of the whole pool
    for start in range(0, len(item_ids), AUDIT_LOOKUP_BATCH):
        batch = item_ids[start : start + AUDIT_LOOKUP_BATCH].tolist()
        audit += session.exec(
            select(Item.id).where(
                Item.project_id == project_id, col(Item.id).in_(batch), col(Item.audit)
            )
        ).all()
    return np.isin(item_ids, np.array(audit, dtype=np.int64))


def calibration(project: Project, cv_probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Suggestion thresholds from held-out predictions of human labels only (the caller leaves
    out labels confirmed from suggestions); none below the minimum number of them."""
    target, minimum = project.suggestion_precision, get_settings().suggestion_min_labels
    about = {
        "target": target,
        "method": "clopper-pearson",
        "level": LEVEL,
        "human_labels": len(y),
        "min_labels": minimum,
    }
    enough = len(y) >= minimum
    if project.task.multilabel:
        per_label = calibrate_multilabel(cv_probs, y, target) if enough else []
        return about | {
            "per_label": {
                label: asdict(per_label[j] if enough else Calibration(None, None, 0, None, len(y)))
                for j, label in enumerate(project.labels)
            },
        }
    chosen = (
        calibrate_single_label(cv_probs, y, target)
        if enough
        else Calibration(None, None, len(y), None, len(y))
    )
    return about | asdict(chosen)


def evaluation(
    project: Project,
    y: np.ndarray,
    cv_probs: np.ndarray,
    audit: np.ndarray,
    audit_probs: Any,
    human: np.ndarray,
    unlabeled_probs: np.ndarray,
) -> dict[str, Any]:
    """The cross-validated and the audited figures with intervals, and which to trust.
    Single-label: also the accuracy over the whole pool (`filament.ml.pool_accuracy`), from
    the audit labels with the model's confidence on ``unlabeled_probs``."""
    multilabel, n_labels = project.task.multilabel, len(project.labels)
    minimum = get_settings().metrics_min_support
    cv = held_out_metrics(y, cv_probs, multilabel, n_labels, minimum)
    pool = None
    if not multilabel:
        pool = single_label_pool_accuracy(
            y, cv_probs, audit_probs, audit, human, unlabeled_probs, minimum
        )
    if audit_probs is None:
        audit_probs = np.full(cv_probs.shape, np.nan)
    audited = held_out_metrics(y[audit], audit_probs[audit], multilabel, n_labels, minimum)
    if pool is not None:
        audited["pool_accuracy"] = pool
    return {
        "evaluation": "cross_validated",  # what the top-level figures are
        "cross_validated": cv,
        "audit": audited,
        "judgement": judge(cv, audited, multilabel),
    }


def run_train_head(project_id: int) -> int | None:
    """Train, validate and score; returns the new version number (None: too few labels)."""
    storage = get_storage()
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return None
        finals = final_labels(session, project)
        mlp_last_tried, head_kind = _mlp_history(session, project_id)
    # ties wait for a reviewer: no label to learn from
    agreed = {item: final for item, final in finals.items() if final.labels is not None}
    embeddings = load_embeddings(storage, project_id, project.embedding_version)
    item_ids = np.array(sorted(agreed), dtype=np.int64)
    rows = embeddings.rows_of(item_ids)
    usable = rows >= 0  # labeled items whose embedding is not ready yet wait for the next run
    if usable.sum() < 2:
        record_agreement(project)
        return None
    item_ids, rows = item_ids[usable], rows[usable]
    y = targets(project, [agreed[int(i)].labels or [] for i in item_ids])
    with session_scope() as session:
        audit = audit_flags(session, project_id, item_ids)
    # labels confirmed from suggestions never calibrate the next suggestions
    suggested = np.array([agreed[int(i)].from_suggestion for i in item_ids], dtype=bool)
    try_mlp = mlp_due(len(item_ids), mlp_last_tried, head_kind)
    fit = fit_head(
        embeddings.vectors[rows],
        y,
        project.task.multilabel,
        len(project.labels),
        audit=audit,
        standardize=standardization_for(project.task.modality, embeddings.vectors),
        try_mlp=try_mlp,
        pool=embeddings.vectors,  # self-training while the labels are few
    )
    # the queue ranks by a head that never saw the audit labels (see HeadFit.queue_model)
    heads = [fit.model] if fit.queue_model is None else [fit.model, fit.queue_model]
    probs, *queue_scored = predict_pool(heads, embeddings.vectors)
    queue_probs = queue_scored[0] if queue_scored else None
    plan = plan_version(
        embeddings,
        np.array(sorted(finals), dtype=np.int64),  # tied items are labeled all the same
        uncertainty_of(probs if queue_probs is None else queue_probs, project),
        np.random.default_rng([project_id, len(item_ids)]),
    )
    human = ~suggested
    unlabeled = np.ones(len(embeddings.item_ids), dtype=bool)
    unlabeled[rows] = False
    metrics = {
        **named_metrics(fit.metrics, project.labels),
        "mlp_tried_at": len(item_ids) if try_mlp else mlp_last_tried,
        **evaluation(project, y, fit.cv_probs, audit, fit.audit_probs, human, probs[unlabeled]),
        "calibration": calibration(project, fit.cv_probs[human], y[human]),
    }
    with (
        session_scope() as session,
        new_version_number(session, sync_redis(), project_id) as version,
    ):
        # likely label errors from the same out-of-fold predictions, and the stop-advice check
        quality_files, quality_metrics = version_quality(
            storage, project, version, item_ids, y, fit.cv_probs, embeddings.item_ids, probs
        )
        metrics |= quality_metrics
        record_version(
            session,
            storage,
            project,
            version,
            files={
                "head.npz": fit.model.to_bytes(),
                "labels.json": json.dumps(project.labels).encode(),
                **quality_files,
            },
            scores=(embeddings.item_ids, probs),
            active=True,
            plan=plan,
            queue_probs=queue_probs,
            kind=ModelKind.head,
            backbone=project.backbone,
            base_version=project.embedding_version,
            label_count=len(item_ids),
            metrics=metrics,
            device="cpu",
        )
    announce(sync_redis(), project_id)  # the API processes load the new scores now
    log.info("project %s: head v%s on %s labels", project_id, version, len(item_ids))
    record_agreement(project, (item_ids, fit.cv_probs), version)
    return version


def _mlp_history(session: Session, project_id: int) -> tuple[int | None, str | None]:
    """The label count the MLP candidate was last cross-validated at, and the latest head's
    kind, from the latest head version (see heads.mlp_due)."""
    latest = session.exec(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id, ModelVersion.kind == ModelKind.head)
        .order_by(col(ModelVersion.version).desc())
    ).first()
    if latest is None:
        return None, None
    tried = latest.metrics.get("mlp_tried_at")
    return (int(tried) if isinstance(tried, int) else None), latest.metrics.get("kind")


def record_agreement(
    project: Project,
    held_out: tuple[np.ndarray, np.ndarray] | None = None,
    model_version: int | None = None,
) -> None:
    """The annotators' agreement on the labels this run saw; ``held_out``: the new version's
    out-of-fold probabilities by item id, for each annotator against the model. A failure here
    is logged and never costs the project its model."""
    try:
        with session_scope() as session:
            agreement.record(session, get_storage(), project, held_out, model_version)
    except Exception:
        log.exception("project %s: agreement not recorded", project.id)


async def train_head(ctx: dict[str, Any], project_id: int) -> None:
    settings = get_settings()
    async with project_run(ctx["redis"], jobs.TRAIN_HEAD, project_id, settings.head_rest_share):
        with threadpool_limits(settings.head_threads, user_api="blas"):  # process-wide
            version = await in_thread(run_train_head, project_id)
    if version is not None:
        await _maybe_finetune(ctx["redis"], project_id)


async def _maybe_finetune(redis: Any, project_id: int) -> None:
    """Fine-tune once labels have grown by the configured share: on a GPU worker when one is
    connected, else on this CPU worker for a small text pool (`finetunes_on_cpu`)."""
    settings = get_settings()
    gpu = await jobs.gpu_worker_connected(redis)
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return
        if not gpu and not finetunes_on_cpu(session, project, settings.cpu_auto_finetune_items):
            return
        labels = len(training_labels(session, project))
        if not labels_grown_enough(session, project_id, labels, settings.finetune_growth):
            return
        job, started = await in_thread(
            start_finetune_job, session, sync_redis(), project_id, None, gpu, "labels grew"
        )
    if started:
        await enqueue_finetune(redis, job.id or 0, gpu=gpu)
