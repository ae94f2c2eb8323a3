"""Work that Redis should hold, re-derived from the database after Redis lost its data.

Redis holds the job queue and the per-project "a run is wanted" flags; a Redis that restarts
without persistence (many do) loses them, and items would then stay pending, labels would wait
for a model that is never trained, uploads would never be read. The database knows all of it:

- items still `pending` need their project's embed run;
- a project whose newest annotation or resolution is newer than its newest model version needs
  a head run;
- an upload (ingest) or fine-tune row still queued or running needs its job; arq refuses a job
  id it already holds, so asking again for one that exists does nothing;
- a webhook delivery still pending and due needs the job of its next attempt. These are also
  asked for on every pass, Redis lost or not: a wake-up can fail after its change committed
  (`filament.webhooks.events.wake`), and a wait of hours is deferred in Redis alone.

Each worker checks every RECONCILE_SECONDS whether Redis still has the marker this pass leaves
(`MARKER`, no expiry). It is missing on a fresh Redis, i.e. after a loss: one worker (by an NX
key) then makes the full pass and sets the marker. Asking twice is harmless (per-project runs
coalesce, job ids are fixed), so a pass that races a job's own request only repeats a request.
"""

import asyncio
import logging
from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from filament import jobs
from filament.db.models import (
    Annotation,
    Item,
    ItemStatus,
    Job,
    JobStatus,
    ModelVersion,
    Resolution,
    utcnow,
)
from filament.db.session import session_scope
from filament.webhooks import deliveries
from filament.webhooks.events import job_id as delivery_job_id
from sqlmodel import col, func, select

from filament_worker.common import in_thread

log = logging.getLogger("filament.worker")
MARKER = "filament:reconciled"
PASS_LOCK = "filament:reconciling"
RECONCILE_SECONDS = 30.0
SETTLE = timedelta(seconds=30)  # rows younger than this may still be on their way to arq


def lost_work() -> dict[str, list[int]]:
    """From the database: projects with pending items, projects whose labels are newer than
    their newest model, and upload / fine-tune rows still waiting for their job."""
    with session_scope() as session:
        embed = session.exec(
            select(Item.project_id).where(Item.status == ItemStatus.pending).distinct()
        ).all()
        newest_model = (
            select(ModelVersion.project_id, func.max(ModelVersion.created_at).label("at"))
            .group_by(col(ModelVersion.project_id))
            .subquery()
        )
        train: list[int] = []
        for table in (Annotation, Resolution):  # labels, and reviewers' decisions
            train += session.exec(
                select(table.project_id)
                .outerjoin(newest_model, newest_model.c.project_id == table.project_id)
                .where((newest_model.c.at.is_(None)) | (col(table.created_at) > newest_model.c.at))
                .distinct()
            ).all()
        waiting = session.exec(
            select(Job).where(
                col(Job.type).in_([jobs.INGEST, jobs.FINETUNE]),
                col(Job.status).in_([JobStatus.queued, JobStatus.running]),
                col(Job.created_at) < utcnow() - SETTLE,
            )
        ).all()
    ingest = [job.id or 0 for job in waiting if job.type == jobs.INGEST and _ingestible(job)]
    finetune = [job.id or 0 for job in waiting if job.type == jobs.FINETUNE]
    gpu = {job.id or 0 for job in waiting if job.type == jobs.FINETUNE and job.device == "gpu"}
    return {
        "embed": sorted(set(embed)),
        "train": sorted(set(train)),
        "ingest": ingest,
        "finetune_cpu": [job for job in finetune if job not in gpu],
        "finetune_gpu": sorted(gpu),
    }


def _ingestible(job: Job) -> bool:
    """A direct upload is read once its files are in storage (completing it stores etags)."""
    if not job.params.get("direct"):
        return True
    return all("etag" in file for file in job.params.get("files", []))


async def wake_due_deliveries(redis: ArqRedis) -> list[int]:
    """Ask for the next attempt of every pending delivery due for a while; the ids whose job
    was missing (arq refuses the id of one it holds)."""
    woken = []
    for delivery_id, attempts in await in_thread(deliveries.due, SETTLE):
        job_id = delivery_job_id(delivery_id, attempts)
        if await jobs.enqueue(redis, jobs.DELIVER_WEBHOOK, delivery_id, job_id=job_id):
            woken.append(delivery_id)
    return woken


async def reconcile_once(redis: ArqRedis) -> dict[str, list[int]]:
    """Ask again for every piece of work the database says is wanted; returns what was asked."""
    work = await in_thread(lost_work)
    work["webhooks"] = await wake_due_deliveries(redis)
    for project_id in work["embed"]:
        await jobs.request_project_job(redis, jobs.EMBED, project_id)
    for project_id in work["train"]:
        await jobs.request_project_job(redis, jobs.TRAIN_HEAD, project_id)
    for job_id in work["ingest"]:
        await jobs.enqueue(redis, jobs.INGEST, job_id, job_id=f"{jobs.INGEST}:{job_id}")
    for queue, key in ((jobs.CPU_QUEUE, "finetune_cpu"), (jobs.GPU_QUEUE, "finetune_gpu")):
        for job_id in work[key]:
            name = f"{jobs.FINETUNE}:{job_id}"
            await jobs.enqueue(redis, jobs.FINETUNE, job_id, job_id=name, queue=queue)
    if any(work.values()):
        log.warning("Redis had lost work; asked again for %s", work)
    return work


async def watch(redis: ArqRedis) -> None:
    """The worker's background task: a full pass whenever the marker is gone."""
    while True:
        try:
            if not await redis.exists(MARKER) and await redis.set(PASS_LOCK, "1", nx=True, ex=60):
                await reconcile_once(redis)
                await redis.set(MARKER, utcnow().isoformat())
            elif woken := await wake_due_deliveries(redis):
                log.warning("webhook deliveries without their job, asked again: %s", woken)
        except Exception as error:  # Redis or the database away: the next pass tries again
            log.warning("reconciling lost work failed (%s); retrying", error)
        await asyncio.sleep(RECONCILE_SECONDS)


def start(ctx: dict[str, Any]) -> None:
    ctx["reconciler"] = asyncio.create_task(watch(ctx["redis"]))
