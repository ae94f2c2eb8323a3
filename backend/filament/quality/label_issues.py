"""Likely label errors of a model version: found by the head training in the out-of-fold
predictions of the labels it trained on (confident learning, `filament.ml.label_errors`),
stored beside the version's files, listed ranked with what the annotators said."""

import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from filament.cache import ProcessCache
from filament.db.models import Annotation, Project, User
from filament.ml.label_errors import label_issues
from filament.models.artifacts import load_npz, model_prefix
from filament.quality.shapes import Vote
from filament.storage import Storage

FILE = "label_issues.npz"
METHOD = "confident_learning"


@dataclass
class StoredIssues:
    """One version's check of its labeled items, rows sorted by item id. ``score``: 1 - the
    out-of-fold probability of the given label (NaN where the item had none). ``ranked``: the
    flagged rows, surest error first, with their out-of-fold ``ranked_probs`` (and,
    multi-label, ``ranked_labels``: which of their labels are disputed)."""

    version: int
    item_ids: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    likely: np.ndarray
    given: np.ndarray
    ranked: np.ndarray
    ranked_probs: np.ndarray
    ranked_labels: np.ndarray | None

    def rows_of(self, item_ids: np.ndarray) -> np.ndarray:
        if len(self.item_ids) == 0:
            return np.full(len(item_ids), -1)
        rows = np.clip(np.searchsorted(self.item_ids, item_ids), 0, len(self.item_ids) - 1)
        return np.where(self.item_ids[rows] == item_ids, rows, -1)

    def scores_of(self, item_ids: np.ndarray) -> np.ndarray:
        """The score per id (NaN: not checked)."""
        rows = self.rows_of(np.asarray(item_ids, dtype=np.int64))
        found = np.full(len(rows), np.nan)
        found[rows >= 0] = self.score[rows[rows >= 0]]
        return found

    def flagged_ids(self) -> np.ndarray:
        return self.item_ids[self.ranked]


_stored: ProcessCache[str, StoredIssues] = ProcessCache("label issues", 16)


def version_file(
    project: Project, item_ids: np.ndarray, y: np.ndarray, cv_probs: np.ndarray
) -> tuple[bytes, dict[str, Any]] | None:
    """The file to store with a version trained on ``y`` (rows: ``item_ids``, sorted) whose
    out-of-fold probabilities are ``cv_probs``, and the summary for its metrics; None when no
    row has an out-of-fold prediction (too few labels to cross-validate)."""
    multilabel = project.task.multilabel
    issues = label_issues(cv_probs, y, multilabel)
    checked = np.isfinite(issues.score)
    if not checked.any():
        return None
    ranked = issues.ranking()
    arrays = {
        "item_ids": np.asarray(item_ids, dtype=np.int64),
        "score": issues.score.astype(np.float32),
        "flagged": issues.flagged,
        "likely": issues.likely,
        "given": np.asarray(y, dtype=np.int64),
        "ranked": ranked,
        "ranked_probs": np.asarray(cv_probs)[ranked].astype(np.float16),
        "thresholds": issues.thresholds,
    }
    if issues.flagged_labels is not None:
        arrays["ranked_labels"] = issues.flagged_labels[ranked]
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    summary = {
        "method": METHOD,
        "checked": int(checked.sum()),
        "flagged": int(issues.flagged.sum()),
    }
    return buffer.getvalue(), summary


def load(storage: Storage, project_id: int, version: int) -> StoredIssues | None:
    """A version's stored check, read once per process; None for a version without one."""
    key = f"{model_prefix(project_id, version)}/{FILE}"
    if (found := _stored.get(key)) is not None:
        return found
    try:
        data = load_npz(storage, key)
    except FileNotFoundError:
        return None
    stored = StoredIssues(
        version=version,
        item_ids=data["item_ids"],
        score=data["score"].astype(np.float64),
        flagged=data["flagged"],
        likely=data["likely"],
        given=data["given"],
        ranked=data["ranked"],
        ranked_probs=data["ranked_probs"].astype(np.float64),
        ranked_labels=data.get("ranked_labels"),
    )
    return _stored.put(key, stored)


def votes_of(session: Session, item_ids: list[int]) -> dict[int, list[Vote]]:
    """Each item's annotations grouped by label set, most common first."""
    rows = session.exec(
        select(Annotation.item_id, Annotation.labels, User.name, User.email)
        .outerjoin(User, col(User.id) == Annotation.user_id)
        .where(col(Annotation.item_id).in_(item_ids))
        .order_by(col(Annotation.id))
    ).all()
    grouped: dict[int, dict[tuple[str, ...], list[str]]] = defaultdict(dict)
    for item_id, labels, name, email in rows:
        grouped[item_id].setdefault(tuple(labels), []).append(name or email or "import")
    return {
        item_id: sorted(
            (Vote(labels=list(k), count=len(v), annotators=v) for k, v in by_labels.items()),
            key=lambda vote: -vote.count,
        )
        for item_id, by_labels in grouped.items()
    }


def explain(
    project: Project, stored: StoredIssues, position: int
) -> tuple[list[str], list[str], list[str], float, float]:
    """``(given, model_thinks, disputed, probability, given_probability)`` of a ranked row."""
    row = int(stored.ranked[position])
    probs = stored.ranked_probs[position]
    labels = project.labels

    def name(j: int) -> str:
        return labels[j] if j < len(labels) else f"label {j}"

    if not project.task.multilabel:
        given, likely = int(stored.given[row]), int(stored.likely[row])
        return (
            [name(given)],
            [name(likely)],
            [name(given), name(likely)],
            float(probs[likely]),
            float(probs[given]),
        )
    present = stored.given[row].astype(bool)
    disputed = (
        stored.ranked_labels[position]
        if stored.ranked_labels is not None
        else np.zeros_like(present)
    )
    thinks = present ^ disputed
    worst = int(stored.likely[row])
    p = float(probs[worst])
    return (
        [name(j) for j in np.flatnonzero(present)],
        [name(j) for j in np.flatnonzero(thinks)],
        [name(j) for j in np.flatnonzero(disputed)],
        p if thinks[worst] else 1 - p,
        1 - p if thinks[worst] else p,
    )
