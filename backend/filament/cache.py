"""Per-project read caches that stay exact: each entry is tagged with the project's change
stamp (a Redis counter bumped whenever items or annotations change) and recomputed when the
stamp moves. Used for counts and id sets that would otherwise cost a scan per request."""

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from redis import Redis

from filament.jobs import changes_key

T = TypeVar("T")
MAX_ENTRIES = 512

_lock = threading.Lock()
_entries: OrderedDict[tuple[int, Hashable], tuple[int, object]] = OrderedDict()


def cached(redis: Redis, project_id: int, key: Hashable, compute: Callable[[], T]) -> T:
    # the stamp is read before computing: a change racing the computation only makes the
    # entry newer than its tag, never older
    stamp = int(redis.get(changes_key(project_id)) or _start_stamp(redis, project_id))
    with _lock:
        hit = _entries.get((project_id, key))
        if hit is not None and hit[0] == stamp:
            _entries.move_to_end((project_id, key))
            return hit[1]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[(project_id, key)] = (stamp, value)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def _start_stamp(redis: Redis, project_id: int) -> int:
    """A missing stamp (a new project, or Redis lost its data) starts at a random number, so
    that entries tagged before a restart can never match one counted after it."""
    redis.set(changes_key(project_id), secrets.randbits(62), nx=True)
    return int(redis.get(changes_key(project_id)) or 0)


def changed(redis: Redis, project_id: int) -> None:
    """Items or annotations of the project changed (the API's routes and the worker's jobs)."""
    pipe = redis.pipeline(transaction=True)
    pipe.set(changes_key(project_id), secrets.randbits(62), nx=True)
    pipe.incr(changes_key(project_id))
    pipe.execute()


def clear() -> None:
    """Forget every entry (tests)."""
    with _lock:
        _entries.clear()
