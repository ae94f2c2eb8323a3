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
