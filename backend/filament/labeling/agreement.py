"""Agreement between a project's annotators, computed by the training job on every change of
its annotations and kept as one JSON artifact in storage: the latest figures (see
`filament.ml.agreement`) and a capped history of the headline ones, for the chart over time.

What is compared: the annotations of known users (a deleted user's are no one's to compare),
typed or confirmed from a suggestion; labels imported with an upload are the dataset's, not
the uploader's judgement, and are left out. Items need two such annotations.
"""

import json
from collections import defaultdict
from dataclasses import asdict
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from filament.core.settings import get_settings
from filament.db.models import Annotation, AnnotationSource, Item, Project, utcnow
from filament.ml.agreement import agreement_report
from filament.storage import Storage, make_key

HISTORY = 200  # entries kept for the chart: one per computation that saw new annotations
HEADLINE = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha")


def agreement_key(project_id: int) -> str:
    return make_key("projects", project_id, "agreement.json")


def overlap_votes(session: Session, project: Project) -> tuple[np.ndarray, list[int], list[int]]:
    """``(votes[item, rater, label], item ids, user ids)`` over the items that two or more
    users labeled, in the coding `agreement_report` takes."""
    rows = session.exec(
        select(Annotation.item_id, Annotation.user_id, Annotation.labels)
        .join(Item, col(Item.id) == Annotation.item_id)
        .where(
            Annotation.project_id == project.id,
            col(Item.n_annotations) >= 2,
            col(Annotation.user_id).is_not(None),
            Annotation.source != AnnotationSource.import_,
        )
    ).all()
    by_item: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
    for item_id, user_id, labels in rows:
        by_item[item_id].append((user_id or 0, labels))
    item_ids = sorted(i for i, rated in by_item.items() if len(rated) >= 2)
    user_ids = sorted({user for i in item_ids for user, _ in by_item[i]})
    column = {user: r for r, user in enumerate(user_ids)}
    index = {label: j for j, label in enumerate(project.labels)}
    votes = np.full((len(item_ids), len(user_ids), len(project.labels)), -1, dtype=np.int8)
    for row, item_id in enumerate(item_ids):
        for user, labels in by_item[item_id]:
            known = [index[label] for label in labels if label in index]
            if not known and not project.task.multilabel:
                continue  # a label since removed from the project: no annotation to compare
            votes[row, column[user]] = 0
            votes[row, column[user], known] = 1
    return votes, item_ids, user_ids


def model_votes(
    project: Project, item_ids: list[int], held_out: tuple[np.ndarray, np.ndarray] | None
) -> np.ndarray | None:
    """The model's held-out call on each of ``item_ids`` in the votes' coding, from ``(ids,
    probabilities)`` of out-of-fold predictions (NaN rows: none); -1 where there is none."""
    if held_out is None:
        return None
    ids, probs = held_out
    calls = np.full((len(item_ids), len(project.labels)), -1, dtype=np.int8)
    where = {int(i): row for row, i in enumerate(ids)}
    for row, item_id in enumerate(item_ids):
        if item_id not in where or not np.isfinite(p := probs[where[item_id]]).all():
            continue
        if project.task.multilabel:
            calls[row] = p >= 0.5
        else:
            calls[row] = 0
            calls[row, int(p.argmax())] = 1
    return calls


def compute(
    session: Session,
    project: Project,
    held_out: tuple[np.ndarray, np.ndarray] | None = None,
    model_version: int | None = None,
) -> dict[str, Any]:
    """The project's agreement now, with user ids and label names in place of indices."""
    votes, item_ids, user_ids = overlap_votes(session, project)
    report = asdict(
        agreement_report(
            votes,
            project.task.multilabel,
            model_votes(project, item_ids, held_out),
            min_support=get_settings().metrics_min_support,
            seed=project.id or 0,
        )
    )
    for pair in report["pairs"]:
        pair["a"], pair["b"] = user_ids[pair["a"]], user_ids[pair["b"]]
    for annotator in report["per_annotator"]:
        annotator["user_id"] = user_ids[annotator.pop("annotator")]
    report["per_label"] = [
        {"label": label, **measures}
        for label, measures in zip(project.labels, report["per_label"], strict=True)
    ]
    return report | {"computed_at": utcnow().isoformat(), "model_version": model_version}


def _figures(point: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in point.items() if k not in ("computed_at", "model_version")}


def load(storage: Storage, project_id: int) -> dict[str, Any] | None:
    try:
        stored: dict[str, Any] = json.loads(storage.get_bytes(agreement_key(project_id)))
    except FileNotFoundError:
        return None
    return stored


def record(
    session: Session,
    storage: Storage,
    project: Project,
    held_out: tuple[np.ndarray, np.ndarray] | None = None,
    model_version: int | None = None,
) -> dict[str, Any]:
    """Compute and store the latest figures (nothing while no item ever had two annotators);
    the history gains an entry when the figures changed (a retraining on the same labels adds
    none)."""
    assert project.id is not None
    latest = compute(session, project, held_out, model_version)
    before = load(storage, project.id)
    if before is None and not latest["items"]:
        return latest  # a project without overlap (yet) writes nothing on each training
    history: list[dict[str, Any]] = (before or {}).get("history", [])
    point = {
        "computed_at": latest["computed_at"],
        "items": latest["items"],
        "annotations": latest["annotations"],
        "model_version": model_version,
        **{name: latest["overall"][name] for name in HEADLINE},
        "cohen_kappa": latest["cohen_kappa"],
    }
    if latest["items"] and (not history or _figures(history[-1]) != _figures(point)):
        history = [*history, point][-HISTORY:]
    stored = latest | {"history": history}
    storage.put_bytes(agreement_key(project.id), json.dumps(stored, allow_nan=False).encode())
    return stored
