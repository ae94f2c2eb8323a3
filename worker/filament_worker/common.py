"""What every job shares: job-row progress, per-project locks, running sync work off the loop."""

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from filament import jobs
from filament.cache import changed
from filament.core.settings import get_settings
from filament.db.session import database_answers
from filament.jobs.rows import interrupt_running, update_job
from redis import Redis
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger("filament.worker")
MAX_REST_SECONDS = 30.0  # a slow training never holds the next one back longer than this
P = ParamSpec("P")
R = TypeVar("R")


async def in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run blocking work (torch, the database) in the executor so the event loop keeps going;
    in the job's context (its request id: `run_in_executor` alone would drop it)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(None, functools.partial(context.run, fn, *args, **kwargs))


@functools.cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url)


def sync_redis() -> Redis:
    """The worker's sync Redis client, for code running in a thread."""
    return _redis(get_settings().redis_url or "redis://127.0.0.1:6379")


# A running job's claims in Redis (arq's in-progress key, the per-project lock, the running
# flag) live `job_lease_seconds` (60) past the job's last heartbeat, not the hours a job may
# take: a worker killed mid-job (kill -9, a lost node) frees them within a minute, and arq then
# runs the job again on any worker (its tries allow three). The beats, every quarter lease,
# run on the event loop, which stays free because the work itself runs in threads
# (`in_thread`).
def lease_seconds() -> float:
    return get_settings().job_lease_seconds


def heartbeat_seconds() -> float:
    return lease_seconds() / 4


@contextlib.contextmanager
def sync_lock(job_name: str, project_id: int) -> Iterator[None]:
    """The same per-project lock `project_run` takes, for sync code running in a thread; kept
    alive by a beating thread while held."""
    redis = _redis(get_settings().redis_url or "redis://127.0.0.1:6379")
    lock = redis.lock(jobs.lock_key(job_name, project_id), timeout=lease_seconds(), sleep=0.05)
    lock.acquire()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(heartbeat_seconds()):
            with contextlib.suppress(Exception):  # Redis restarting: the next beat tries again
                lock.extend(lease_seconds(), replace_ttl=True)

    beating = threading.Thread(target=beat, name=f"lock-{job_name}-{project_id}", daemon=True)
    beating.start()
    try:
        yield
    finally:
        done.set()
        beating.join()
        with contextlib.suppress(Exception):
            lock.release()


@contextlib.asynccontextmanager
async def heartbeat(beat: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Call `beat` now and every heartbeat while the body runs."""
    await beat()

    async def loop() -> None:
        while True:
            await asyncio.sleep(heartbeat_seconds())
            with contextlib.suppress(Exception):  # Redis restarting: the next beat tries again
                await beat()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()


def leased(job: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """An arq job whose in-progress mark lives a lease past its last heartbeat (arq sets
    it for the longest job timeout, 12 h, so a killed worker's job would wait that long).

    A job that loses the database (PostgreSQL restarting, failing over) waits for it to answer
    again, still holding its lease, and then runs again (arq's `Retry`, one of its tries): arq
    would otherwise end it as failed, leaving its work undone until someone asked again. Every
    job is written to be run again (chunks named by ids, rows claimed once)."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        key = f"{in_progress_key_prefix}{ctx['job_id']}"
        async with heartbeat(lambda: ctx["redis"].pexpire(key, int(lease_seconds() * 1000))):
            try:
                await job(ctx, *args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                if not await _database_was_lost(error):
                    raise  # the database answers: a real failure (say, a missing table)
                log.warning("%s lost the database (%s); running it again", job.__name__, error)
                raise Retry(defer=1) from error

    return run


DATABASE_WAIT_SECONDS = 600.0  # past this the job runs again anyway, using up one more try


async def _database_was_lost(error: DBAPIError) -> bool:
    """Whether `error` is the database going away (the driver says the connection broke, or
    the database does not answer now); if so, wait until it answers (or the wait runs out)."""
    if not error.connection_invalidated and await in_thread(database_answers):
        return False
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    while time.monotonic() < deadline and not await in_thread(database_answers):
        await asyncio.sleep(1.0)
    return True


def project_changed(project_id: int) -> None:
    """Tell the API's caches that the project's items changed (see filament/cache.py)."""
    changed(_redis(get_settings().redis_url or "redis://127.0.0.1:6379"), project_id)


# at most one progress write per job this often: a row write per forward batch would cost more
# than the batch on a fast GPU; tests set 0 to see every step
PROGRESS_SECONDS = 0.5


class Progress:
    """Throttled progress updates for a job row (at most one write per `every` seconds).

    With a `unit` ("items"), the row's `result` carries the counts too (`done`, `total`,
    `unit`) while the job runs, so the API can tell a rate in that unit (`JobPublic`); the
    job's final write replaces them with its result. `forward_only`: a lower share than one
    written before is dropped (for a sum of counts read at different moments)."""

    def __init__(
        self,
        job_id: int,
        every: float | None = None,
        unit: str | None = None,
        forward_only: bool = False,
    ) -> None:
        self.job_id = job_id
        self.every = PROGRESS_SECONDS if every is None else every
        self.unit = unit
        self.forward_only = forward_only
        self._last = 0.0
        self._best = -1.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        share = round(min(done / max(total, 1), 1.0), 4)
        if self.forward_only and share < self._best:
            return
        if now - self._last < self.every and done < total:
            return
        self._last, self._best = now, share
        fields: dict[str, object] = {
            "progress": share,
            "message": message or f"{done:,} of {total:,}",
        }
        if self.unit is not None:
            fields["result"] = {"done": done, "total": total, "unit": self.unit}
        update_job(self.job_id, **fields)


@contextlib.asynccontextmanager
async def project_run(
    redis: ArqRedis, job_name: str, project_id: int, rest_share: float = 0.0
) -> AsyncIterator[None]:
    """One run of a coalesced per-project job, alone: take the project's lock, wait out the
    rest the previous run asked for, then clear the pending flag and run.

    The flag is cleared only once the run is about to read the project, so every request made
    before that (it found the flag set and enqueued nothing) is covered by this run.

    `rest_share`: after a run that took T seconds, the next one starts no sooner than
    `rest_share` x T later. A team labeling without pause asks for a head training every few
    hundred ms; back to back, trainings would keep a core busy beside the API that serves the
    team (this machine has two). With a share of 1 they take at most half of the worker's time
    for a project, and the next model still covers every label given meanwhile."""
    lock = redis.lock(jobs.lock_key(job_name, project_id), timeout=lease_seconds(), sleep=0.05)
    await lock.acquire()
    running = jobs.running_key(job_name, project_id)

    async def beat() -> None:
        await lock.extend(lease_seconds(), replace_ttl=True)
        await redis.set(running, "1", px=int(lease_seconds() * 1000))

    try:
        rested_at = await redis.get(jobs.rested_key(job_name, project_id))
        if rested_at is not None:
            await asyncio.sleep(min(max(float(rested_at) - time.time(), 0.0), MAX_REST_SECONDS))
        await redis.delete(jobs.pending_key(job_name, project_id))
        # holding the lock, this is the project's only run of the job: a row still running is
        # a run whose worker died
        await in_thread(interrupt_running, project_id, job_name)
        started = time.monotonic()
        try:
            async with heartbeat(beat):
                yield
        finally:
            await redis.delete(running)
            rest = min(rest_share * (time.monotonic() - started), MAX_REST_SECONDS)
            if rest > 0:
                key = jobs.rested_key(job_name, project_id)
                await redis.set(key, f"{time.time() + rest:.3f}", ex=int(MAX_REST_SECONDS) + 1)
    finally:
        with contextlib.suppress(Exception):
            await lock.release()


def failure_message(what: str, job_id: int, error: BaseException) -> str:
    """What members read on a failed job: a reason they can act on, never an exception's raw
    text (paths, SQL, library internals); the traceback goes to the worker log."""
    from filament.ml.backbones import BackboneUnavailable
    from filament.uploads.ingest import UploadRefused

    if isinstance(error, BackboneUnavailable | UploadRefused):
        return f"{what} failed: {error}"  # written for users, says what to do
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return f"{what} failed: the worker ran out of memory (try fewer or smaller items)"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"{what} failed: it took longer than the worker's time limit"
    return f"{what} failed: an unexpected error in the worker (job {job_id}; see the worker log)"
