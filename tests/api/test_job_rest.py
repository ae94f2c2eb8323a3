"""Coalesced per-project runs (`filament_worker.common.project_run`) against the real Redis:
the rest a run asks for before the next, and the pending flag that covers requests made while
a run waits."""

import asyncio
import time

from arq.connections import ArqRedis, RedisSettings, create_pool


async def _timed_run(redis: ArqRedis, seconds: float, rest_share: float) -> tuple[float, float]:
    from filament import jobs
    from filament_worker.common import project_run

    asked = time.monotonic()
    async with project_run(redis, jobs.TRAIN_HEAD, 7, rest_share):
        started = time.monotonic()
        await asyncio.sleep(seconds)
    return started - asked, started


def test_the_next_run_waits_the_share_of_the_last_ones_duration(env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> tuple[float, float, float]:
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        await redis.flushall()
        try:
            first_wait, _ = await _timed_run(redis, 0.4, rest_share=1.0)
            ended = time.monotonic()
            second_wait, second_start = await _timed_run(redis, 0.0, rest_share=1.0)
            return first_wait, second_start - ended, second_wait
        finally:
            await redis.aclose()

    first_wait, gap, _ = asyncio.run(scenario())
    assert first_wait < 0.2  # nothing to rest from
    assert gap >= 0.35  # 1.0 x the first run's 0.4 s (less the scheduler's rounding)


def test_no_rest_without_a_share(env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> float:
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        await redis.flushall()
        try:
            await _timed_run(redis, 0.3, rest_share=0.0)
            waited, _ = await _timed_run(redis, 0.0, rest_share=0.0)
            return waited
        finally:
            await redis.aclose()

    assert asyncio.run(scenario()) < 0.2


def test_a_request_made_while_a_run_waits_is_covered_by_it(env, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """The pending flag is cleared when the run is about to read the project, not when it
    starts waiting: a request during the wait (for the lock or the rest) enqueues nothing."""
    from filament import jobs

    async def scenario() -> tuple[bool, bool, bool]:
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        await redis.flushall()
        try:
            await redis.set(jobs.pending_key(jobs.TRAIN_HEAD, 7), "1")
            lock = redis.lock(f"filament:lock:{jobs.TRAIN_HEAD}:7", timeout=10)
            await lock.acquire()  # another run holds the project
            waiting = asyncio.create_task(_timed_run(redis, 0.0, 0.0))
            await asyncio.sleep(0.2)
            during_wait = await jobs.request_project_job(redis, jobs.TRAIN_HEAD, 7)
            await lock.release()
            await waiting
            flag_after = bool(await redis.exists(jobs.pending_key(jobs.TRAIN_HEAD, 7)))
            after_run = await jobs.request_project_job(redis, jobs.TRAIN_HEAD, 7)
            return during_wait, flag_after, after_run
        finally:
            await redis.aclose()

    during_wait, flag_after, after_run = asyncio.run(scenario())
    assert not during_wait  # coalesced into the waiting run
    assert not flag_after  # the run cleared it before running
    assert after_run  # a request after the run's start asks for a new one
