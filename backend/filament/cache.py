"""Every per-process cache of the service, in one place.

- `ProcessCache`: a bounded LRU (cachetools) with its own lock, for what a process loads once
  and keeps (embeddings, stored scores, heads, fine-tuned models). Each is registered, so
  `clear_all()` forgets them all (tests, and a process that must drop what it holds).
- `cached`/`changed`: per-project read caches that stay exact: each entry is tagged with the
  project's change stamp (a Redis counter bumped whenever items or annotations change) and
  recomputed when the stamp moves. Used for counts and id sets that would otherwise cost a
  scan per request."""

import secrets
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, TypeVar

from cachetools import LRUCache
from redis import Redis

from filament.jobs import changes_key

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
_registry: list["ProcessCache[Any, Any]"] = []


class ProcessCache(Generic[K, T]):
    """A bounded, thread-safe LRU map, registered for `clear_all()`. Loading is the caller's:
    `get`, then `put` what it loaded (callers that must not load twice hold their own lock)."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self._entries: LRUCache[K, T] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()
        _registry.append(self)

    def get(self, key: K) -> T | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: T) -> T:
        with self._lock:
            self._entries[key] = value
        return value

    def get_or_load(self, key: K, load: Callable[[], T]) -> T:
        """The cached value, or `load()`'s, kept (two threads may both load a missing key)."""
        found = self.get(key)
        return found if found is not None else self.put(key, load())

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        """The keys held now, least recently used first (a snapshot)."""
        with self._lock:
            return iter(list(self._entries))

    def values(self) -> list[T]:
        with self._lock:
            return list(self._entries.values())


def clear_all() -> None:
    """Forget every cached value of this process (tests)."""
    for process_cache in _registry:
        process_cache.clear()


# (project, key) -> (the change stamp it was computed at, when, the value)
_stamped: ProcessCache[tuple[int, Hashable], tuple[int, float, object]] = ProcessCache(
    "stamped", 512
)


def cached(
    redis: Redis,
    project_id: int,
    key: Hashable,
    compute: Callable[[], T],
    stale_for: float = 0.0,
) -> T:
    """`compute()`'s value, kept until the project's change stamp moves. `stale_for`: a value
    may also be served up to that many seconds after it was computed, stamp or not (for hints
    whose exactness something else guarantees: under a team labeling 20 items a second the
    stamp moves on nearly every request, and an O(labels) query per request would grow with
    the project)."""
    # the stamp is read before computing: a change racing the computation only makes the
    # entry newer than its tag, never older
    stamp = int(redis.get(changes_key(project_id)) or _start_stamp(redis, project_id))
    hit = _stamped.get((project_id, key))
    if hit is not None and (hit[0] == stamp or time.monotonic() - hit[1] < stale_for):
        return hit[2]  # type: ignore[return-value]
    value = compute()
    _stamped.put((project_id, key), (stamp, time.monotonic(), value))
    return value


def forget(project_id: int, key: Hashable) -> None:
    """Drop one stamped entry of this process (its next read computes afresh)."""
    _stamped.pop((project_id, key))


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
