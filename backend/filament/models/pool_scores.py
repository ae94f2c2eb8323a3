"""The active model's view of items: predictions and uncertainty, read from its stored scores."""

import numpy as np
from sqlmodel import Session, col, select

from filament.db.models import Item, ModelVersion, Prediction, Project
from filament.ml.strategies import uncertainty
from filament.models.artifacts import Embeddings, Scores, load_scores
from filament.storage import Storage


def active_model(session: Session, project_id: int) -> ModelVersion | None:
    return session.exec(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id, col(ModelVersion.active))
        .order_by(col(ModelVersion.version).desc())
    ).first()


def active_scores(session: Session, storage: Storage, project: Project) -> Scores | None:
    assert project.id is not None
    model = active_model(session, project.id)
    if model is None:
        return None
    return load_scores(storage, project.id, model.version)


def uncertainty_of(probs: np.ndarray, project: Project, strategy: str | None = None) -> np.ndarray:
    """Uncertainty by `strategy` (default: the project's; `random` shows entropy)."""
    strategy = strategy or project.strategy
    return uncertainty(
        probs, "entropy" if strategy == "random" else strategy, project.task.multilabel
    )


def pool_uncertainty(
    scores: Scores, embeddings: Embeddings, project: Project, strategy: str
) -> np.ndarray:
    """Uncertainty of every embedded item, row-aligned with `embeddings`; computed once per
    model version, embedding set and strategy. Items embedded after the model was trained count
    as most uncertain (1.0): nothing is known of them yet. Ranked by `queue_probs` where the
    version has them (a model that never saw the audit labels)."""
    key = (strategy, id(embeddings), len(embeddings.item_ids))
    if key not in scores.derived:
        rows = scores.rows_of(embeddings.item_ids)
        aligned = np.ones(len(rows))
        scored = rows >= 0
        probs = scores.probs if scores.queue_probs is None else scores.queue_probs
        aligned[scored] = uncertainty_of(probs[rows[scored]], project, strategy)
        if len(scores.derived) >= 8:
            scores.derived.clear()
        scores.derived[key] = aligned
    return scores.derived[key]


def predicted_mask(probs: np.ndarray, multilabel: bool) -> np.ndarray:
    """The one rule for what a model predicts, as a mask over `probs` (rows: items, columns:
    labels): every label at a sigmoid of 0.5 or more, or the single argmax."""
    if multilabel:
        return probs >= 0.5
    chosen = np.zeros(probs.shape, dtype=bool)
    chosen[np.arange(len(probs)), probs.argmax(axis=1)] = True
    return chosen


def predicted_labels(probs: np.ndarray, project: Project) -> list[str]:
    """The labels one item's `probs` predict (`predicted_mask`)."""
    picked = predicted_mask(probs[None, :], project.task.multilabel)[0]
    return [label for label, chosen in zip(project.labels, picked, strict=False) if chosen]


def predictions_for(
    scores: Scores | None, project: Project, item_ids: list[int]
) -> dict[int, tuple[Prediction, float]]:
    """Prediction and uncertainty per item id (items without a score are left out). Vectorised:
    every listed page and queue batch goes through here."""
    if scores is None or not item_ids:
        return {}
    ids = np.asarray(item_ids, dtype=np.int64)
    rows = scores.rows_of(ids)
    present = rows >= 0
    if not present.any():
        return {}
    probs = scores.probs[rows[present]]
    # a label added after this model was trained has no column yet
    labels = project.labels[: probs.shape[1]]
    chosen = predicted_mask(probs, project.task.multilabel)
    uncertain = np.round(uncertainty_of(probs, project).astype(np.float64), 4).tolist()
    rounded = np.round(probs.astype(np.float64), 4).tolist()
    answer = {}
    for item_id, row, picks, u in zip(
        ids[present].tolist(), rounded, chosen.tolist(), uncertain, strict=True
    ):
        # built from trusted values: skipping validation halves the cost of a page
        prediction = Prediction.model_construct(
            labels=[label for label, picked in zip(labels, picks, strict=True) if picked],
            scores=dict(zip(labels, row, strict=True)),
            model_version=scores.version,
        )
        answer[item_id] = (prediction, u)
    return answer


def confidence_of(probs: np.ndarray, multilabel: bool) -> np.ndarray:
    """How sure the model is of its whole prediction: the top probability, or for multi-label
    the least sure of the per-label decisions (max(p, 1 - p))."""
    if multilabel:
        return np.maximum(probs, 1 - probs).min(axis=1)
    return probs.max(axis=1)


def confident_rows(
    model: ModelVersion, scores: Scores, project: Project, unlabeled: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `scores` (among `unlabeled`) the model is confident about, and their confidence.
    Only thresholds backed by a precision bound count: a version calibrated before bounds
    existed (a point estimate on as few as five items) offers nothing until it is retrained."""
    calibration = model.metrics.get("calibration", {})
    if "method" not in calibration:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows = scores.rows_of(unlabeled)
    rows = rows[rows >= 0]
    probs = scores.probs[rows]
    if probs.shape[1] != len(project.labels):
        return rows[:0], np.zeros(0)
    if project.task.multilabel:
        per_label = calibration.get("per_label", {})
        thresholds = np.array(
            [(per_label.get(label) or {}).get("threshold") or np.inf for label in project.labels]
        )
        confident = (np.maximum(probs, 1 - probs) >= thresholds).all(axis=1)
        confidence = confidence_of(probs, multilabel=True)
    else:
        threshold = calibration.get("threshold")
        confidence = confidence_of(probs, multilabel=False)
        confident = confidence >= (threshold if threshold is not None else np.inf)
    return rows[confident], confidence[confident]


def unlabeled_ids(session: Session, scores: Scores, project_id: int) -> np.ndarray:
    labeled = session.exec(
        select(Item.id).where(Item.project_id == project_id, col(Item.n_annotations) > 0)
    ).all()
    return np.setdiff1d(scores.item_ids, np.array(labeled, dtype=np.int64))
