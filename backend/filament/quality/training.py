"""What a head training stores of the quality tools with its version: the label check of the
labels it trained on (a file beside the version's) and the stop-advice check (its metrics)."""

import logging
from typing import Any

import numpy as np

from filament.db.models import Project
from filament.quality import label_issues, stopping
from filament.storage import Storage

log = logging.getLogger("filament.quality")


def version_quality(
    storage: Storage,
    project: Project,
    version: int,
    item_ids: np.ndarray,
    y: np.ndarray,
    cv_probs: np.ndarray,
    pool_ids: np.ndarray,
    pool_probs: np.ndarray,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """``(files, metrics)`` to add to the version trained on ``y`` for ``item_ids`` with
    out-of-fold ``cv_probs`` (the training's own), scoring ``pool_probs`` for ``pool_ids``.
    A failure here is logged and never costs the project its model."""
    files: dict[str, bytes] = {}
    metrics: dict[str, Any] = {}
    try:
        made = label_issues.version_file(project, item_ids, y, cv_probs)
        if made is not None:
            files[label_issues.FILE], metrics["label_issues"] = made
    except Exception:
        log.exception("project %s: label check of v%s not made", project.id, version)
    try:
        stability = stopping.check(
            storage, project, version, len(item_ids), pool_ids, pool_probs, item_ids
        )
        if stability is not None:
            metrics["stability"] = stability
    except Exception:
        log.exception("project %s: stop check of v%s not made", project.id, version)
    return files, metrics
