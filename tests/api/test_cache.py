"""The per-project read cache stays exact when Redis loses its data (a restart, a flush)."""

import redis as redis_lib


def test_entries_from_before_a_flush_never_match_again(redis_url: str) -> None:
    from filament.cache import cached, changed

    redis = redis_lib.Redis.from_url(redis_url)
    redis.flushall()
    changed(redis, 7)
    assert cached(redis, 7, "count", lambda: "before") == "before"
    assert cached(redis, 7, "count", lambda: "recomputed") == "before"  # a hit
    redis.flushall()  # the counters are gone: one change counted afresh must not collide
    changed(redis, 7)
    assert cached(redis, 7, "count", lambda: "after") == "after"
    redis.flushall()
    assert cached(redis, 7, "count", lambda: "unchanged since") == "unchanged since"


def test_process_caches_are_bounded_and_cleared_together() -> None:
    from filament.cache import ProcessCache, clear_all

    first: ProcessCache[int, str] = ProcessCache("test first", maxsize=2)
    second: ProcessCache[int, str] = ProcessCache("test second", maxsize=2)
    for key in (1, 2):
        first.put(key, f"v{key}")
    assert first.get(1) == "v1"  # now the most recently used
    first.put(3, "v3")
    assert list(first) == [1, 3]  # 2 was the least recently used
    assert second.get_or_load(5, lambda: "loaded") == "loaded"
    assert second.get_or_load(5, lambda: "again") == "loaded"
    clear_all()
    assert len(first) == 0 and len(second) == 0
