"""Figures of the jobs the workers run, kept in Redis: the workers are other processes (often
on other machines), so each adds what it did to one hash, and the API reads the sums when
Prometheus scrapes `/metrics` (`filament.api.metrics`). No shared folder, no per-worker
endpoint to find, and the figures survive a worker's restart (a Redis flush resets them, which
Prometheus reads as a counter reset).

Label values are bounded: job names (`JobType`), four outcomes, the backbones."""

from collections import defaultdict
from dataclasses import dataclass, field

from arq.connections import ArqRedis
from redis import Redis

JOBS_KEY = "filament:metrics:jobs"
EMBEDDING_KEY = "filament:metrics:embedding"
# seconds; a head training takes about one, an embedding or fine-tune minutes to hours
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
OUTCOMES = ("ok", "failed", "cancelled", "retried")


def _bucket(seconds: float) -> str:
    return next((f"{bound:g}" for bound in DURATION_BUCKETS if seconds <= bound), "+Inf")


async def record_job(redis: ArqRedis, job: str, outcome: str, seconds: float) -> None:
    """One finished run of `job` (ok, failed: it raised, cancelled: timed out or stopped,
    retried: it lost the database and runs again)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(JOBS_KEY, f"{job}|{outcome}|count", 1)
        pipe.hincrbyfloat(JOBS_KEY, f"{job}|{outcome}|sum", seconds)
        pipe.hincrby(JOBS_KEY, f"{job}|{outcome}|le={_bucket(seconds)}", 1)
        await pipe.execute()


def record_embedding(redis: Redis, backbone: str, items: int, seconds: float) -> None:
    """Items embedded and the seconds their forward passes took (throughput: the ratio of
    their rates)."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(EMBEDDING_KEY, f"{backbone}|items", items)
        pipe.hincrbyfloat(EMBEDDING_KEY, f"{backbone}|seconds", seconds)
        pipe.execute()


@dataclass
class Durations:
    count: int = 0
    total: float = 0.0
    # per upper bound (DURATION_BUCKETS as text, then "+Inf"), not cumulative
    buckets: dict[str, int] = field(default_factory=dict)

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus' buckets: runs at or below each bound, +Inf last (= count)."""
        running, answer = 0, []
        for bound in [*(f"{b:g}" for b in DURATION_BUCKETS), "+Inf"]:
            running += self.buckets.get(bound, 0)
            answer.append((bound, running))
        return answer


def read_jobs(redis: Redis) -> dict[tuple[str, str], Durations]:
    """(job, outcome) -> its runs, from every worker so far."""
    figures: dict[tuple[str, str], Durations] = defaultdict(Durations)
    for raw_field, raw_value in redis.hgetall(JOBS_KEY).items():
        job, outcome, what = raw_field.decode().split("|", 2)
        entry = figures[(job, outcome)]
        if what == "count":
            entry.count = int(raw_value)
        elif what == "sum":
            entry.total = float(raw_value)
        else:
            entry.buckets[what.removeprefix("le=")] = int(raw_value)
    return dict(figures)


def read_embedding(redis: Redis) -> dict[str, tuple[int, float]]:
    """backbone -> (items embedded, seconds spent embedding them)."""
    items: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for raw_field, raw_value in redis.hgetall(EMBEDDING_KEY).items():
        backbone, what = raw_field.decode().rsplit("|", 1)
        if what == "items":
            items[backbone] = int(raw_value)
        else:
            seconds[backbone] = float(raw_value)
    return {name: (items[name], seconds[name]) for name in set(items) | set(seconds)}
