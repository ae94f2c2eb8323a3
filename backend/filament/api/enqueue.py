"""Enqueueing from sync routes (which FastAPI runs in worker threads)."""

import anyio.from_thread
from fastapi import Request

from filament import jobs
from filament.cache import changed
from filament.core.settings import Settings


def request_project_job(
    request: Request, job_name: str, project_id: int, defer_by: float | None = None
) -> None:
    anyio.from_thread.run(
        jobs.request_project_job, request.app.state.arq, job_name, project_id, defer_by
    )


def enqueue(
    request: Request, job_name: str, *args: int, job_id: str, queue: str = jobs.CPU_QUEUE
) -> None:
    anyio.from_thread.run(
        lambda: jobs.enqueue(request.app.state.arq, job_name, *args, job_id=job_id, queue=queue)
    )


def labels_changed(request: Request, project_id: int, settings: Settings) -> None:
    """After annotations changed: invalidate caches and ask for a head training."""
    changed(request.app.state.redis, project_id)
    request_project_job(request, jobs.TRAIN_HEAD, project_id, settings.head_debounce_seconds)
