"""Stop advice from stabilising predictions (`filament.ml.stopping`, Bloodgood &
Vijay-Shanker 2009), kept by the head training.

The **stop set** is a fixed random sample of the items that were unlabeled when it was drawn
(`FILAMENT_STOP_SET_SIZE`, at the first training). It is stored once; while it is smaller
than the setting (a pool still being uploaded) it grows with random unlabeled items each time
the embedded pool has doubled, so early uploads do not make the whole set.

A **check** is a version trained on at least `FILAMENT_STOP_CHECK_LABELS` more labels than the
last check: its calls on the stop set are compared with that check's (Cohen's kappa, on the
items both predicted) and kept as the new reference. Checks go by labels, not versions: a team
labeling without pause gets a version every few labels, and two models a couple of labels
apart agree almost always, long before the model has settled. The kappa goes into the
version's metrics (`stability`); the advice reads it back from the versions.
"""

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from filament.core.settings import get_settings
from filament.db.models import ModelVersion, Project
from filament.ml.stopping import calls, calls_kappa, stop_rule
from filament.models.artifacts import load_npz
from filament.quality.shapes import StabilityPoint, StopAdvice
from filament.storage import Storage, make_key

GROWTH = 2.0  # the pool must have grown this much before a small stop set grows


def stop_set_key(project_id: int) -> str:
    return make_key("projects", project_id, "stop_set.npz")


@dataclass
class StopState:
    """The stop set and the last check: its version, labels and calls on ``called_ids``."""

    item_ids: np.ndarray
    drawn_from: int  # embedded items when the set was drawn (or last grown)
    version: int | None = None
    labels: int = 0
    called_ids: np.ndarray | None = None
    calls: np.ndarray | None = None


def load_state(storage: Storage, project_id: int) -> StopState | None:
    try:
        data = load_npz(storage, stop_set_key(project_id))
    except FileNotFoundError:
        return None
    version = int(data["version"])
    return StopState(
        item_ids=data["item_ids"],
        drawn_from=int(data["drawn_from"]),
        version=version if version > 0 else None,
        labels=int(data["labels"]),
        called_ids=data["called_ids"] if version > 0 else None,
        calls=data["calls"] if version > 0 else None,
    )


def _save(storage: Storage, project_id: int, state: StopState) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        allow_pickle=False,
        item_ids=state.item_ids,
        drawn_from=np.array(state.drawn_from),
        version=np.array(state.version or 0),
        labels=np.array(state.labels),
        called_ids=state.called_ids if state.called_ids is not None else np.zeros(0, np.int64),
        calls=state.calls if state.calls is not None else np.zeros(0, np.int64),
    )
    storage.put_bytes(stop_set_key(project_id), buffer.getvalue())


def _drawn(
    project_id: int, state: StopState | None, pool: np.ndarray, labeled: np.ndarray, size: int
) -> StopState:
    """The stop set as it is, drawn at first, grown when small and the pool has doubled."""
    if state is not None and (len(state.item_ids) >= size or len(pool) < GROWTH * state.drawn_from):
        return state
    have = np.zeros(0, np.int64) if state is None else state.item_ids
    candidates = np.setdiff1d(np.setdiff1d(pool, labeled), have)
    rng = np.random.default_rng([project_id, len(have), len(pool)])
    extra = rng.choice(candidates, min(size - len(have), len(candidates)), replace=False)
    grown = np.union1d(have, extra.astype(np.int64))
    if state is None:
        return StopState(grown, len(pool))
    return StopState(grown, len(pool), state.version, state.labels, state.called_ids, state.calls)


def check(
    storage: Storage,
    project: Project,
    version: int,
    labels: int,
    pool_ids: np.ndarray,
    pool_probs: np.ndarray,
    labeled: np.ndarray,
) -> dict[str, Any] | None:
    """At a head training of ``version`` on ``labels`` labels with ``pool_probs`` for the items
    ``pool_ids`` (sorted): the ``stability`` entry of its metrics when it is a check, else None.
    ``labeled``: the ids it trained on (never drawn into the stop set)."""
    settings = get_settings()
    project_id = project.id or 0
    before = load_state(storage, project_id)
    state = _drawn(project_id, before, pool_ids, labeled, settings.stop_set_size)
    is_check = state.version is None or labels >= state.labels + settings.stop_check_labels
    if not is_check:
        if state is not before:
            _save(storage, project_id, state)
        return None
    present = np.isin(state.item_ids, pool_ids)
    called_ids = state.item_ids[present]
    now = calls(pool_probs[np.searchsorted(pool_ids, called_ids)], project.task.multilabel)
    kappa, compared = None, 0
    if state.called_ids is not None and state.calls is not None and len(state.calls):
        common, mine, theirs = np.intersect1d(called_ids, state.called_ids, return_indices=True)
        compared = len(common)
        if compared:
            kappa = calls_kappa(state.calls[theirs], now[mine], project.task.multilabel)
    entry = {
        "kappa": None if kappa is None else round(kappa, 6),
        "reference_version": state.version,
        "compared": compared,
        "stop_set": len(state.item_ids),
        "labels_since": labels - state.labels if state.version is not None else None,
    }
    _save(
        storage,
        project_id,
        StopState(state.item_ids, state.drawn_from, version, labels, called_ids, now),
    )
    return entry


def stop_advice(session: Session, storage: Storage, project: Project) -> StopAdvice:
    """The checks' kappa history and what it says."""
    settings = get_settings()
    rows = session.exec(
        select(ModelVersion.version, ModelVersion.label_count, ModelVersion.metrics)
        .where(ModelVersion.project_id == project.id)
        .order_by(col(ModelVersion.version))
    ).all()
    history = [
        StabilityPoint(
            version=version,
            labels=label_count,
            kappa=stability.get("kappa"),
            compared=stability.get("compared", 0),
            reference_version=stability.get("reference_version"),
        )
        for version, label_count, metrics in rows
        if isinstance(stability := (metrics or {}).get("stability"), dict)
    ]
    # the first check has nothing to compare with: it neither counts nor breaks a run
    compared = [point for point in history if point.reference_version is not None]
    rule = stop_rule([point.kappa for point in compared], settings.stop_kappa, settings.stop_window)
    state = load_state(storage, project.id or 0)
    fired = compared[rule.fired_at] if rule.fired_at is not None else None
    return StopAdvice(
        threshold=settings.stop_kappa,
        window=settings.stop_window,
        check_every=settings.stop_check_labels,
        stop_set=0 if state is None else len(state.item_ids),
        history=history,
        stopped=rule.holds,
        fired_at=fired,
        message=_message(compared, rule.holds, fired, settings.stop_kappa, settings.stop_window),
    )


def _message(
    compared: list[StabilityPoint],
    stopped: bool,
    fired: StabilityPoint | None,
    threshold: float,
    window: int,
) -> str:
    if not compared:
        return (
            "No comparison yet: each check compares the model's predictions on the stop set "
            "with the last check's"
        )
    last = compared[-1]
    if stopped:
        return (
            f"The model has stopped changing: kappa between successive checks has been at "
            f"least {threshold} for the last {window} checks ({last.labels:,} labels). More "
            "labels of the kind the queue picks are unlikely to change its predictions much."
        )
    since = f" (it first did at {fired.labels:,} labels)" if fired else ""
    figure = "not comparable" if last.kappa is None else f"{last.kappa:.3f}"
    return (
        f"Still changing: kappa {figure} at the last check; the advice to stop comes when "
        f"{window} checks in a row reach {threshold}{since}."
    )
