"""Jobs: their names, the arq queues, the Redis keys of coalesced per-project runs, and the one
way to enqueue them (here); the Job rows members see, created and changed only through
`filament.jobs.rows`. The API never imports the worker: it uses these."""

import uuid
from typing import Any

from arq.connections import ArqRedis
from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis import Redis
from redis.exceptions import WatchError

from filament.core.logs import current_request_id
from filament.db.models import JobType

INGEST = JobType.ingest
EMBED = JobType.embed
EMBED_SHARD = "embed_shard"  # a part of an embed run (no job row of its own)
TRAIN_HEAD = JobType.train_head
FINETUNE = JobType.finetune
BUILD_ARCHIVE = JobType.build_archive
# wakes one webhook delivery up (no job row: the delivery's row is its state)
DELIVER_WEBHOOK = "deliver_webhook"

GPU_WORKER_PREFIX = "filament:gpu-worker:"  # one key per running GPU worker, refreshed by it

CPU_QUEUE = "filament:cpu"
GPU_QUEUE = "filament:gpu"


async def gpu_worker_connected(redis: ArqRedis) -> bool:
    async for _ in redis.scan_iter(match=f"{GPU_WORKER_PREFIX}*", count=100):
        return True
    return False


def changes_key(project_id: int) -> str:
    """A counter bumped whenever a project's items or annotations change (see filament/cache.py)."""
    return f"filament:changes:{project_id}"


def pending_key(job_name: str, project_id: int) -> str:
    return f"filament:pending:{job_name}:{project_id}"


def running_key(job_name: str, project_id: int) -> str:
    return f"filament:running:{job_name}:{project_id}"


def lock_key(job_name: str, project_id: int) -> str:
    """The lock that serialises a project's runs of one job (taken by the worker's
    `project_run`, and by sync code of the same job through `sync_lock`)."""
    return f"filament:lock:{job_name}:{project_id}"


def rested_key(job_name: str, project_id: int) -> str:
    """When the project's next run of the job may start (a Unix time; see `project_run`)."""
    return f"filament:rested:{job_name}:{project_id}"


def asked_or_running(redis: Redis, job_name: str, project_id: int) -> bool:
    """Whether a run of the per-project job is pending or going (sync: for API requests)."""
    keys = (pending_key(job_name, project_id), running_key(job_name, project_id))
    return bool(redis.exists(*keys))


async def enqueue(
    redis: ArqRedis,
    job_name: str,
    *args: int,
    job_id: str | None = None,
    queue: str = CPU_QUEUE,
    defer_by: float | None = None,
) -> bool:
    """Enqueue a job by name with ids only. False when arq already holds a job with this id.
    The request being served (or the job running) passes its request id on, so the job's log
    lines carry it (`filament.core.logs`; the worker takes it off before calling the job)."""
    request_id = current_request_id()
    passed: dict[str, Any] = {"request_id": request_id} if request_id else {}
    job = await redis.enqueue_job(
        str(job_name),  # the worker's function name: a plain string in arq's payload
        *args,
        _job_id=job_id,
        _queue_name=queue,
        _defer_by=defer_by,
        **passed,
    )
    return job is not None


def enqueue_sync(
    redis: Redis, job_name: str, *args: int, job_id: str, queue: str = CPU_QUEUE
) -> bool:
    """`enqueue` for sync code that no event loop serves, such as a commit hook running in the
    API's request threads or in the worker's (`filament.webhooks.events`): what arq's
    `enqueue_job` writes, with a sync client. False when arq already holds a job with this id."""
    request_id = current_request_id()
    kwargs = {"request_id": request_id} if request_id else {}
    key = job_key_prefix + job_id
    with redis.pipeline(transaction=True) as pipe:
        pipe.watch(key)  # type: ignore[no-untyped-call]
        if pipe.exists(key, result_key_prefix + job_id):
            return False
        now = timestamp_ms()
        payload = serialize_job(str(job_name), args, kwargs, None, now)
        pipe.multi()
        pipe.psetex(key, expires_extra_ms, payload)
        pipe.zadd(queue, {job_id: now})
        try:
            pipe.execute()
        except WatchError:  # enqueued meanwhile
            return False
    return True


async def request_project_job(
    redis: ArqRedis, job_name: str, project_id: int, defer_by: float | None = None
) -> bool:
    """Ask for one run of a per-project job, coalescing requests.

    At most one run is pending: the pending flag is set here and cleared by the run when it
    starts, so requests made while a run is going schedule exactly one follow-up, never a pile-up.
    Runs of the same project are serialised by the job itself (a Redis lock).
    """
    if not await redis.set(pending_key(job_name, project_id), "1", nx=True, ex=600):
        return False
    return await enqueue(
        redis,
        job_name,
        project_id,
        job_id=f"{job_name}:{project_id}:{uuid.uuid4().hex}",
        defer_by=defer_by,
    )
