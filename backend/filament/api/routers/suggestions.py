"""Suggestions: unlabeled items the model is sure of, confirmed or corrected in bulk."""

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from filament.api.deps import ProjectMemberDep, ProjectWriter, SessionDep, SettingsDep, StorageDep
from filament.api.enqueue import labels_changed
from filament.api.params import MAX_ID
from filament.db.models import (
    AnnotationSource,
    Item,
    WebhookEvent,
)
from filament.labeling import annotations
from filament.labeling.labels import checked_labels
from filament.ml.calibration import expected_wrong
from filament.models.pool_scores import (
    active_model,
    active_scores,
    confident_rows,
    predicted_labels,
    predictions_for,
    unlabeled_ids,
)
from filament.webhooks import events

router = APIRouter(prefix="/projects/{project_id}", tags=["suggestions"])


class Suggestion(BaseModel):
    id: int
    name: str
    kind: str
    text: str | None = None
    label: str | None
    labels: list[str]
    confidence: float


class SuggestionPage(BaseModel):
    data: list[Suggestion]
    target_precision: float
    calibrated_precision: float | None = Field(
        None, description="precision of the accepted set on the calibration items (point)"
    )
    threshold: float | dict[str, float | None] | None = None
    qualifying: int = 0
    model_version: int | None = None
    detail: str | None = None
    precision_lower_bound: float | None = Field(
        None,
        description="one-sided lower confidence bound of that precision (the promise); "
        "multi-label: the lowest over labels",
    )
    confidence_level: float | None = None
    calibration_items: int = Field(
        0, description="held-out human labels the threshold was calibrated on"
    )
    calibration_support: int = Field(
        0, description="calibration items at or above the threshold (fewest over labels)"
    )
    min_labels: int | None = Field(None, description="human labels needed before any is offered")
    expected_wrong: float | None = Field(
        None, description="how many of this page's suggestions may be wrong at the bound"
    )
    reachable_precision: float | None = Field(
        None,
        description="the highest precision any threshold's lower bound reaches on these "
        "calibration items: a target at or below it gets suggestions now (multi-label: the "
        "lowest over labels)",
    )


@router.get("/suggestions")
def suggestions(
    member: ProjectMemberDep,
    session: SessionDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    label: str | None = None,
) -> SuggestionPage:
    """Unlabeled items the model labels confidently, for one-click confirmation. The threshold
    is the lowest whose precision on held-out human labels (never confirmed suggestions) has
    a 95 % lower confidence bound at the project's target; the page says on how many labels,
    and how many of its suggestions may be wrong."""
    project = member.project
    target = project.suggestion_precision
    model = active_model(session, member.id)
    if model is None:
        return SuggestionPage(data=[], target_precision=target, detail="No model yet")
    if label is not None and label not in project.labels:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"Unknown label {label!r}"
        )
    scores = active_scores(session, storage, project)
    assert scores is not None
    rows, confidence = confident_rows(
        model, scores, project, unlabeled_ids(session, scores, member.id)
    )
    calibration = model.metrics.get("calibration", {})
    predicted = [predicted_labels(scores.probs[row], project) for row in rows]
    if label is not None:
        keep = np.array([label in labels for labels in predicted], dtype=bool)
        rows, confidence = rows[keep], confidence[keep]
        predicted = [p for p, k in zip(predicted, keep, strict=True) if k]
    order = np.argsort(-confidence, kind="stable")[:limit]
    ids = scores.item_ids[rows[order]].tolist()
    items = {item.id: item for item in session.exec(select(Item).where(col(Item.id).in_(ids)))}
    data = []
    for position, item_id in zip(order, ids, strict=True):
        item = items.get(item_id)
        if item is None:
            continue
        labels = predicted[position]
        data.append(
            Suggestion(
                id=item_id,
                name=item.name,
                kind=item.kind,
                text=item.text,
                label=labels[0] if labels else None,
                labels=labels,
                confidence=round(float(confidence[position]), 4),
            )
        )
    if project.task.multilabel:
        per_label = [c or {} for c in calibration.get("per_label", {}).values()]
        threshold: Any = {
            name: (c or {}).get("threshold") for name, c in calibration.get("per_label", {}).items()
        }
        precisions = [c["precision"] for c in per_label if c.get("precision") is not None]
        bounds = [c["lower_bound"] for c in per_label if c.get("lower_bound") is not None]
        supports = [c.get("support", 0) for c in per_label if c.get("threshold") is not None]
        achieved = min(precisions) if precisions else None
        bound = min(bounds) if bounds else None
        support = min(supports) if supports else 0
        best = [c.get("best_bound") for c in per_label]
        reachable = min(best) if best and None not in best else None
    else:
        threshold, achieved = calibration.get("threshold"), calibration.get("precision")
        bound = calibration.get("lower_bound")
        bounds = [] if bound is None else [bound]
        support = calibration.get("support", 0) if threshold is not None else 0
        reachable = calibration.get("best_bound")
    return SuggestionPage(
        data=data,
        target_precision=target,
        calibrated_precision=achieved,
        threshold=threshold,
        qualifying=len(rows),
        model_version=model.version,
        detail=None if len(rows) else _why_none(calibration, target, reachable),
        precision_lower_bound=bound,
        confidence_level=calibration.get("level"),
        calibration_items=calibration.get("human_labels", 0),
        calibration_support=support,
        min_labels=calibration.get("min_labels"),
        expected_wrong=expected_wrong(len(data), bounds) if data and bounds else None,
        reachable_precision=reachable,
    )


def _why_none(calibration: dict[str, Any], target: float, reachable: float | None) -> str:
    if "method" not in calibration:
        return (
            "This model version carries no precision bound (made before bounds existed, or "
            "fine-tuned): suggestions wait for the next head training"
        )
    have, need = calibration.get("human_labels", 0), calibration.get("min_labels", 0)
    if have < need:
        return f"Suggestions need {need} human labels to calibrate on ({have} so far)"
    why = (
        f"No confidence threshold has a {target:.0%} precision bound on the {have} human "
        "labels yet, or no unlabeled item reaches it"
    )
    if reachable is not None and reachable < target:
        # what the labels do back, so a team can choose a lower target knowingly
        why += f" (the best bound any threshold reaches now is {reachable:.1%})"
    return why


class ReviewItem(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    accept: bool
    labels: list[str] | None = None


class Review(BaseModel):
    items: list[ReviewItem] = Field(max_length=1000)


class ReviewResult(BaseModel):
    accepted: int
    corrected: int
    rejected: int


@router.post("/suggestions/review")
def review_suggestions(
    body: Review,
    request: Request,
    writer: ProjectWriter,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> ReviewResult:
    """Accept suggestions (labels from the active model, source `suggestion`), or correct them
    (the given labels, source `human`), or reject them (nothing is recorded)."""
    project = writer.project
    scores = active_scores(session, storage, project)
    ids = [entry.item_id for entry in body.items]
    items = {
        item.id: item
        for item in session.exec(
            select(Item).where(col(Item.id).in_(ids), Item.project_id == writer.id)
        )
    }
    missing = [i for i in ids if i not in items]
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Items not found: {missing[:10]}")
    predictions = predictions_for(scores, project, ids)
    result = ReviewResult(accepted=0, corrected=0, rejected=0)
    user_id = writer.user.id or 0
    entries: list[annotations.Entry] = []
    outcomes: list[dict[str, Any]] = []  # what the `suggestions.reviewed` event says per item
    for entry in body.items:
        if entry.labels is not None:
            labels = checked_labels(project, entry.labels)
            entries.append((items[entry.item_id], labels, AnnotationSource.human))
            result.corrected += 1
            outcomes.append({"item_id": entry.item_id, "outcome": "corrected", "labels": labels})
        elif entry.accept:
            if entry.item_id not in predictions:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    detail=f"Item {entry.item_id} has no prediction to accept",
                )
            labels = predictions[entry.item_id][0].labels
            entries.append((items[entry.item_id], labels, AnnotationSource.suggestion))
            result.accepted += 1
            outcomes.append({"item_id": entry.item_id, "outcome": "accepted", "labels": labels})
        else:
            result.rejected += 1
            outcomes.append({"item_id": entry.item_id, "outcome": "rejected", "labels": None})
    version = None if scores is None else scores.version
    reviewed = events.review_data(user_id, version, result.model_dump(), outcomes)
    events.emit(session, writer.id, WebhookEvent.suggestions_reviewed, reviewed)
    if entries:  # its commit writes the event too
        corrected = {entry.item_id for entry in body.items if entry.labels is not None}
        annotations.record(session, request.app.state.redis, project, user_id, entries, corrected)
        labels_changed(request, writer.id, settings)
    else:
        session.commit()
    return result
