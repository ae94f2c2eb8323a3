"""arq WorkerSettings: `arq filament_worker.settings.WorkerSettings` or `filament worker`."""

import asyncio
import logging
import os
import socket
import uuid
from typing import Any, ClassVar

from arq import func
from filament import jobs
from filament.core.redis import redis_settings
from filament.core.settings import get_settings

from filament_worker.archive import build_archive
from filament_worker.embed import embed
from filament_worker.finetune import MAX_ATTEMPTS, finetune_job
from filament_worker.ingest import ingest
from filament_worker.train import train_head


async def startup(ctx: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if ctx.get("gpu"):
        ctx["heartbeat"] = asyncio.create_task(_announce_gpu_worker(ctx["redis"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    if "heartbeat" in ctx:
        ctx["heartbeat"].cancel()


async def _announce_gpu_worker(redis: Any) -> None:
    """While this GPU worker runs, a key says so (the API routes fine-tuning by it)."""
    key = f"{jobs.GPU_WORKER_PREFIX}{uuid.uuid4().hex}"
    while True:
        await redis.set(key, socket.gethostname(), ex=30)
        await asyncio.sleep(10)


FUNCTIONS = [
    func(ingest, name=jobs.INGEST, timeout=6 * 3600, max_tries=3),
    func(embed, name=jobs.EMBED, timeout=12 * 3600, max_tries=3),
    func(train_head, name=jobs.TRAIN_HEAD, timeout=1800, max_tries=3),
    # an unexpected failure is not retried: the row says failed and a later request retries
    func(build_archive, name=jobs.BUILD_ARCHIVE, timeout=3600, max_tries=1),
    # one try more than the job allows itself, so it can mark its row failed on the last one
    func(finetune_job, name=jobs.FINETUNE, timeout=12 * 3600, max_tries=MAX_ATTEMPTS + 1),
]


class WorkerSettings:
    functions: ClassVar[list[Any]] = FUNCTIONS
    queue_name = jobs.CPU_QUEUE
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 4
    keep_result = 60


def run_worker(gpu: bool = False, burst: bool = False) -> None:
    """Run a worker on the cpu queue (or the gpu queue) until stopped (or idle, in burst mode)."""
    from arq.worker import Worker

    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("FILAMENT_REDIS_URL is not set (`filament run` starts an embedded Redis)")
    if settings.worker_niceness > 0 and not burst:
        os.nice(settings.worker_niceness)
    worker = Worker(
        functions=FUNCTIONS,
        queue_name=jobs.GPU_QUEUE if gpu else jobs.CPU_QUEUE,
        redis_settings=redis_settings(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=WorkerSettings.max_jobs,
        keep_result=WorkerSettings.keep_result,
        burst=burst,
        poll_delay=0.05 if burst else 0.2,
        handle_signals=not burst,
        ctx={"gpu": gpu},
    )
    worker.run()
