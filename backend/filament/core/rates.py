"""How fast a running job goes and when it should end, from what it measured since it
started: the share done (and the items done, where a job counts them) over the time it ran.
Nothing is promised before there is a rate to go by."""

from dataclasses import dataclass
from datetime import UTC, datetime

from filament.core.clock import as_utc

# below this share done, or this long into a job, a rate is mostly start-up (a model loading,
# the first batch compiling): an ETA from it would jump around
MIN_SHARE = 0.01
MIN_SECONDS = 1.0


@dataclass(frozen=True)
class Rate:
    per_second: float | None  # items (or the job's unit) per second; None if it counts none
    eta_seconds: float | None  # seconds left at the rate so far


NO_RATE = Rate(None, None)


def measured_rate(
    started_at: datetime | None,
    share: float,
    done: int | None = None,
    now: datetime | None = None,
) -> Rate:
    """The rate of a job that started at `started_at` and has done `share` (0..1) of its
    work, `done` of its items if it counts them; `NO_RATE` until there is one."""
    if started_at is None or share < MIN_SHARE:
        return NO_RATE
    elapsed = ((now or datetime.now(UTC)) - as_utc(started_at)).total_seconds()
    if elapsed < MIN_SECONDS:
        return NO_RATE
    per_second = done / elapsed if done else None
    eta = max(elapsed * (1.0 - share) / share, 0.0) if share < 1.0 else 0.0
    return Rate(per_second=per_second, eta_seconds=round(eta, 1))
