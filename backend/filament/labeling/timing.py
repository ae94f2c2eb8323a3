"""How long annotators take, measured where the server sees it: when the queue first served an
item to a user, and when that user last finished an item (labeled or skipped it).

Kept in Redis beside the claim protocol (`filament.labeling.leases`), never inside it: these
keys decide nothing about who may be served what; losing them only loses figures.

- `filament:timing:{project}:{user}`: a hash, field = item id -> the first time the queue
  served it to the user (epoch seconds; a re-serve of their own lease keeps the first), and
  field `last` -> when they last labeled or skipped an item. It lives `TIMING_SECONDS` after
  the user's last serve or finish.
- `filament:skipped:{project}:{user}`: the user's skips by time; the queue does not offer a
  skipped item to the same user again for `SKIP_BLOCK_SECONDS` (others get it at once).

The seconds an item took: from the later of its first serve and the user's previous finish,
to its label (or skip). The labeler shows one item at a time from a prefetched page, so time
since the serve alone would count the items before it on that page.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from redis import Redis

from filament.db.models import utcnow

TIMING_SECONDS = 86_400
SKIP_BLOCK_SECONDS = 3_600
LAST = "last"

Timing = tuple[datetime | None, float | None]  # (first served, seconds taken)


def now() -> datetime:
    """The one clock of serves, finishes and the annotation and skip rows' times (so that a
    test can set it)."""
    return utcnow()


def timing_key(project_id: int, user_id: int) -> str:
    return f"filament:timing:{project_id}:{user_id}"


def skipped_key(project_id: int, user_id: int) -> str:
    return f"filament:skipped:{project_id}:{user_id}"


def served(redis: Redis, project_id: int, user_id: int, item_ids: Iterable[int]) -> None:
    """The queue handed these items to the user: remember when, unless it did before."""
    ids = list(item_ids)
    if not ids:
        return
    key, served_at = timing_key(project_id, user_id), f"{now().timestamp():.3f}"
    pipe = redis.pipeline(transaction=False)
    for item in ids:
        pipe.hsetnx(key, str(item), served_at)
    pipe.expire(key, TIMING_SECONDS)
    pipe.execute()


def finish(redis: Redis, project_id: int, user_id: int, item_ids: list[int]) -> dict[int, Timing]:
    """The user labeled or skipped these items now: per item its first serve and the seconds
    it took (None, None for items the queue did not serve them). Their serve times are
    dropped (the annotation or skip row keeps them) and the user's last finish moves to now."""
    key, finished = timing_key(project_id, user_id), now().timestamp()
    values = redis.hmget(key, [LAST, *map(str, item_ids)]) if item_ids else [None]
    last = float(values[0]) if values[0] is not None else None
    found: dict[int, Timing] = {}
    for item, value in zip(item_ids, values[1:], strict=True):
        if value is None:
            found[item] = (None, None)
            continue
        first = float(value)
        start = max(first, last) if last is not None else first
        found[item] = (datetime.fromtimestamp(first, UTC), round(max(finished - start, 0.0), 3))
    pipe = redis.pipeline(transaction=False)
    if item_ids:
        pipe.hdel(key, *map(str, item_ids))
    pipe.hset(key, LAST, f"{finished:.3f}")
    pipe.expire(key, TIMING_SECONDS)
    pipe.execute()
    return found


def restore(
    redis: Redis, project_id: int, user_id: int, item_id: int, served_at: datetime | None
) -> None:
    """After an undo: the item counts as served when it first was, so labeling it again is
    timed (from the user's previous finish)."""
    if served_at is None:
        return
    key = timing_key(project_id, user_id)
    pipe = redis.pipeline(transaction=False)
    pipe.hsetnx(key, str(item_id), f"{served_at.timestamp():.3f}")
    pipe.expire(key, TIMING_SECONDS)
    pipe.execute()


def block_skipped(redis: Redis, project_id: int, user_id: int, item_id: int) -> None:
    key = skipped_key(project_id, user_id)
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(key, {str(item_id): now().timestamp()})
    pipe.expire(key, SKIP_BLOCK_SECONDS)
    pipe.execute()


def recently_skipped(redis: Redis, project_id: int, user_id: int) -> list[int]:
    """Items the user skipped within `SKIP_BLOCK_SECONDS`: not offered to them meanwhile."""
    key = skipped_key(project_id, user_id)
    pipe = redis.pipeline(transaction=False)
    pipe.zremrangebyscore(key, "-inf", now().timestamp() - SKIP_BLOCK_SECONDS)
    pipe.zrange(key, 0, -1)
    return [int(item) for item in pipe.execute()[1]]
