"""Loading a project's arrays before an annotator's request needs them.

- At start: the most recently labeled projects, so the first annotators after a restart or a
  deploy do not wait for them (2-4 s per 100k items).
- On announcement: the embed job announces a project when its cold-start plan is stored (as
  the pool grows) and when it ends, the head training when a version is stored. Each API
  process listens (Redis pub/sub) and loads the new arrays in a background thread, so the
  first request after a team uploads 100k items, or after a new model, answers from memory
  (it read 100k embeddings itself before: 0.7 s alone, seconds under a team's first burst)."""

import logging
import threading
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
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


WARM_CHANNEL = "filament:warm"
COALESCE_SECONDS = 0.5  # announcements arriving meanwhile are served by one load


def warm_project(project_id: int) -> None:
    """Load the project's current embeddings and its active model's scores and uncertainty
    into this process's caches (only what is new is read)."""
    storage = get_storage()
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return
        embeddings = load_embeddings(storage, project_id, project.embedding_version)
        scores = active_scores(session, storage, project)
        if scores is not None and project.strategy != "random":
            pool_uncertainty(scores, embeddings, project, project.strategy)
    log.info("warmed project %s: %s embeddings", project_id, len(embeddings.item_ids))


def warm(limit: int) -> None:
    for project_id in recent_projects(limit):
        warm_project(project_id)


def announce(redis: Redis, project_id: int) -> None:
    """Tell every API process that the project's arrays changed (see the module docstring)."""
    redis.publish(WARM_CHANNEL, str(project_id))


class Listener:
    """The API process's side of `announce`: a daemon thread that warms announced projects,
    several announcements of a burst with one load. `stop()` ends it (the app's shutdown)."""

    def __init__(self, redis: Redis) -> None:
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="filament-warm-listener", daemon=True)

    def start(self) -> "Listener":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.pubsub.close()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.pubsub.subscribe(WARM_CHANNEL)
                while not self.stopped.is_set():
                    projects = self._next_burst()
                    for project_id in projects:
                        warm_project(project_id)
            except (RedisConnectionError, RedisTimeoutError) as error:  # Redis restarting
                log.warning("the warm listener lost Redis (%s); retrying", error)
                self.stopped.wait(2.0)
            except Exception:  # a cache, not a requirement: requests load what they need
                log.exception("warming an announced project failed")
                self.stopped.wait(1.0)

    def _next_burst(self) -> set[int]:
        projects: set[int] = set()
        deadline = None
        while not self.stopped.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is not None and str(message["data"], "ascii").isdigit():
                projects.add(int(message["data"]))
                deadline = deadline or time.monotonic() + COALESCE_SECONDS
            if deadline is not None and time.monotonic() >= deadline:
                return projects
        return projects


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
