"""Loading the arrays of recently active projects when an API process starts, so the first
annotators after a restart or deploy do not wait for them (2-4 s per 100k items)."""

import logging
import threading

from sqlmodel import col, func, select

from filament.db.models import Annotation, Project
from filament.db.session import session_scope
from filament.models.artifacts import load_embeddings
from filament.models.pool_scores import active_scores, pool_uncertainty
from filament.storage import get_storage

log = logging.getLogger("filament.models.warmup")


def recent_projects(limit: int) -> list[int]:
    """The projects labeled most recently (annotation ids grow with time)."""
    with session_scope() as session:
        latest = func.max(Annotation.id)
        rows = session.exec(
            select(Annotation.project_id, latest)
            .group_by(col(Annotation.project_id))
            .order_by(latest.desc())
            .limit(limit)
        ).all()
    return [project_id for project_id, _ in rows]


def warm(limit: int) -> None:
    storage = get_storage()
    for project_id in recent_projects(limit):
        with session_scope() as session:
            project = session.get(Project, project_id)
            if project is None:
                continue
            embeddings = load_embeddings(storage, project_id, project.embedding_version)
            scores = active_scores(session, storage, project)
            if scores is not None and project.strategy != "random":
                pool_uncertainty(scores, embeddings, project, project.strategy)
        log.info("warmed project %s: %s embeddings", project_id, len(embeddings.item_ids))


def start_warming(limit: int) -> threading.Thread | None:
    """Warm in the background: the API answers meanwhile (a request for a project being
    loaded waits for that load instead of starting its own)."""
    if limit <= 0:
        return None

    def run() -> None:
        try:
            warm(limit)
        except Exception:  # a cache, not a requirement: requests load what they need
            log.exception("warming the caches failed")

    thread = threading.Thread(target=run, name="filament-warmup", daemon=True)
    thread.start()
    return thread
