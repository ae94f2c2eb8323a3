"""arq WorkerSettings: `arq filament_worker.settings.WorkerSettings` or `filament worker`."""

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from typing import Any, ClassVar

from arq import Retry, func
from arq.worker import Function
from filament import jobs
from filament.core.logs import configure_logging, request_id_var
from filament.core.redis import redis_settings
from filament.core.settings import get_settings
from filament.jobs.metrics import record_job
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from filament_worker import reconcile
from filament_worker.archive import build_archive
from filament_worker.common import leased
from filament_worker.embed import embed, embed_shard
from filament_worker.finetune import MAX_ATTEMPTS, finetune_job
from filament_worker.ingest import ingest
from filament_worker.train import train_head
from filament_worker.webhooks import deliver_webhook

log = logging.getLogger("filament.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level or "INFO")
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


def observed(function: Function) -> Function:
    """The job, run under the request id it was enqueued with (`filament.jobs.enqueue` adds
    it as a keyword, taken off here), its duration and outcome added to the figures the API
    serves at /metrics (`filament.jobs.metrics`)."""
    job, run = function.name, function.coroutine

    async def observed_run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        request_id_var.set(kwargs.pop("request_id", None))  # this job's task only
        started, outcome = time.monotonic(), "failed"
        try:
            result = await run(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except asyncio.CancelledError:  # arq's timeout, or the worker stopping
            outcome = "cancelled"
            raise
        except Retry:  # it lost the database and runs again (`leased`)
            outcome = "retried"
            raise
        finally:
            seconds = time.monotonic() - started
            log.info("job %s(%s) %s in %.2f s", job, ", ".join(map(repr, args)), outcome, seconds)
            with contextlib.suppress(Exception):  # figures never fail a job
                await record_job(ctx["redis"], job, outcome, seconds)

    return dataclasses.replace(function, coroutine=observed_run)


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
    # one attempt of a delivery; its retries are new jobs with their own waits (the row counts
    # the attempts), and a run arq repeats finds its attempt claimed already
    func(leased(deliver_webhook), name=jobs.DELIVER_WEBHOOK, timeout=120, max_tries=2),
]
# every job, those added later too: enqueued jobs may carry a request id keyword
FUNCTIONS = [observed(function) for function in FUNCTIONS]


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
