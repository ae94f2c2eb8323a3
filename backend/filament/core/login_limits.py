"""Login back-off: failed sign-ins counted per account and per client address in Redis.

Past a limit, sign-in answers 429 with Retry-After until the counter's window runs out, and
the password is not even checked (a correct guess would otherwise still be told apart). The
window doubles with each lock-out of the same account (up to a day), so a slow, patient
guesser gets fewer tries per day than a fast one. A successful sign-in clears the account's
counters; the address's counter only expires (one address tries many accounts)."""

from dataclasses import dataclass
from typing import cast

from redis import Redis

from filament.core.errors import TooManyRequests
from filament.core.settings import Settings

MAX_WINDOW_SECONDS = 24 * 3600


class LoginLocked(TooManyRequests):
    """Too many failed attempts: 429 with Retry-After (the API's domain-error handler)."""

    def __init__(self, retry_after: int, what: str = "failed sign-ins") -> None:
        super().__init__(f"Too many {what}: try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class LoginLimiter:
    redis: Redis
    settings: Settings

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"login:fail:account:{email}", self.settings.login_max_failures_per_account),
            (f"login:fail:ip:{address}", self.settings.login_max_failures_per_ip),
        ]

    def check(self, email: str, address: str) -> None:
        """Raise LoginLocked while either counter is at its limit."""
        for key, limit in self._keys(email, address):
            failures = _number(self.redis.get(key))
            if failures >= limit:
                raise LoginLocked(max(1, _number(self.redis.ttl(key))))

    def failed(self, email: str, address: str) -> None:
        for key, limit in self._keys(email, address):
            window = self._window(key)
            with self.redis.pipeline() as pipe:
                # the window starts at the first failure (SET NX; INCR keeps the expiry)
                pipe.set(key, 0, ex=window, nx=True)
                pipe.incr(key)
                failures = pipe.execute()[1]
            if failures == limit:
                # this failure locks: the lock lasts a full (doubled) window from now
                self.redis.incr(f"{key}:lockouts")
                self.redis.expire(f"{key}:lockouts", MAX_WINDOW_SECONDS)
                self.redis.expire(key, window)

    def succeeded(self, email: str) -> None:
        key = f"login:fail:account:{email}"
        self.redis.delete(key, f"{key}:lockouts")

    def _window(self, key: str) -> int:
        lockouts = _number(self.redis.get(f"{key}:lockouts"))
        return min(self.settings.login_window_seconds * (1 << lockouts), MAX_WINDOW_SECONDS)


def _number(reply: object) -> int:
    """A Redis reply read as a count (None: 0). redis-py types sync replies as maybe-awaitable."""
    return int(cast("bytes | str | int | None", reply) or 0)


def throttle_misses(
    redis: Redis, key: str, limit: int, window_seconds: int, what: str = "failed sign-ins"
) -> "MissCounter":
    """A counter of one caller's attempts of a kind (wrong current passwords, invitations
    sent); `what` names them in the 429's message."""
    return MissCounter(redis, f"misses:{key}", limit, window_seconds, what)


@dataclass
class MissCounter:
    redis: Redis
    key: str
    limit: int
    window_seconds: int
    what: str = "failed sign-ins"

    def check(self) -> None:
        if _number(self.redis.get(self.key)) >= self.limit:
            raise LoginLocked(max(1, _number(self.redis.ttl(self.key))), self.what)

    def missed(self) -> None:
        with self.redis.pipeline() as pipe:
            pipe.set(self.key, 0, ex=self.window_seconds, nx=True)
            pipe.incr(self.key)
            pipe.execute()
