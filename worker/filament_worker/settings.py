"""arq WorkerSettings: `arq filament_worker.settings.WorkerSettings` or `filament worker`."""

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any, ClassVar

from arq import func
from filament import jobs
from filament.core.redis import redis_settings
from filament.core.settings import get_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from filament_worker import reconcile
from filament_worker.archive import build_archive
from filament_worker.common import leased
from filament_worker.embed import embed, embed_shard
from filament_worker.finetune import MAX_ATTEMPTS, finetune_job
from filament_worker.ingest import ingest
from filament_worker.train import train_head

log = logging.getLogger("filament.worker")


async def startup(ctx: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if ctx.get("gpu"):
        ctx["heartbeat"] = asyncio.create_task(_announce_gpu_worker(ctx["redis"]))
    if not ctx.get("burst"):  # tests drain queues in burst mode and call reconcile_once
        reconcile.start(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    for task in ("heartbeat", "reconciler"):
        if task in ctx:
            ctx[task].cancel()


async def _announce_gpu_worker(redis: Any) -> None:
    """While this GPU worker runs, a key says so (the API routes fine-tuning by it)."""
    key = f"{jobs.GPU_WORKER_PREFIX}{uuid.uuid4().hex}"
    while True:
        try:
            await redis.set(key, socket.gethostname(), ex=30)
        except Exception as error:  # Redis restarting: announce again on the next beat
            log.warning("could not announce the GPU worker (%s)", error)
        await asyncio.sleep(10)


# every job is `leased`: a killed worker's job runs again elsewhere within a minute
FUNCTIONS = [
    func(leased(ingest), name=jobs.INGEST, timeout=6 * 3600, max_tries=3),
    func(leased(embed), name=jobs.EMBED, timeout=12 * 3600, max_tries=3),
    func(leased(embed_shard), name=jobs.EMBED_SHARD, timeout=6 * 3600, max_tries=3),
    func(leased(train_head), name=jobs.TRAIN_HEAD, timeout=1800, max_tries=3),
    # an unexpected failure is not retried: the row says failed and a later request retries
    func(leased(build_archive), name=jobs.BUILD_ARCHIVE, timeout=3600, max_tries=1),
    # one try more than the job allows itself, so it can mark its row failed on the last one
    func(leased(finetune_job), name=jobs.FINETUNE, timeout=12 * 3600, max_tries=MAX_ATTEMPTS + 1),
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
    if settings.worker_torch_threads > 0:  # several workers on one host share its cores
        import torch

        torch.set_num_threads(settings.worker_torch_threads)
    delay = 1.0
    while True:
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
            ctx={"gpu": gpu, "burst": burst},
        )
        started = time.monotonic()
        try:
            worker.run()
            return  # stopped by a signal (or, in burst mode, the queue is empty)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if burst:
                raise
            # Redis restarting or failing over: wait and connect again instead of exiting (the
            # jobs it held come back through their leases and the reconciler)
            delay = 1.0 if time.monotonic() - started > 60 else delay
            log.warning("the worker lost Redis (%s); reconnecting in %.0f s", error, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
