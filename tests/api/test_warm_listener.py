"""The API processes' warm listener (`filament.models.warmup.Listener`) on the real Redis:
an announced project is loaded once per burst of announcements, in the background."""

import time

import pytest
from redis import Redis


def test_announced_projects_are_warmed_once_per_burst(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filament.models import warmup

    warmed: list[int] = []
    monkeypatch.setattr(warmup, "warm_project", warmed.append)
    redis = Redis.from_url(redis_url)
    listener = warmup.Listener(redis).start()
    try:
        deadline = time.monotonic() + 5
        while not redis.pubsub_numsub(warmup.WARM_CHANNEL)[0][1] and time.monotonic() < deadline:
            time.sleep(0.05)  # subscribed
        for project_id in (5, 5, 6, 5):  # chunks of one upload, and another project
            warmup.announce(redis, project_id)
        while len(warmed) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(warmup.COALESCE_SECONDS + 0.3)
        assert sorted(warmed) == [5, 6]
        warmup.announce(redis, 5)  # a later announcement is a new load
        while len(warmed) < 3 and time.monotonic() < deadline + 5:
            time.sleep(0.05)
        assert warmed[2:] == [5]
    finally:
        listener.stop()
    assert not listener.thread.is_alive()


def test_a_failing_warm_does_not_stop_the_listener(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filament.models import warmup

    calls: list[int] = []

    def flaky(project_id: int) -> None:
        calls.append(project_id)
        if len(calls) == 1:
            raise RuntimeError("storage unreachable")

    monkeypatch.setattr(warmup, "warm_project", flaky)
    redis = Redis.from_url(redis_url)
    listener = warmup.Listener(redis).start()
    try:
        deadline = time.monotonic() + 10
        while not redis.pubsub_numsub(warmup.WARM_CHANNEL)[0][1] and time.monotonic() < deadline:
            time.sleep(0.05)
        warmup.announce(redis, 1)
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        while not redis.pubsub_numsub(warmup.WARM_CHANNEL)[0][1] and time.monotonic() < deadline:
            time.sleep(0.05)  # subscribed again after the failure
        time.sleep(1.2)
        warmup.announce(redis, 2)
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls == [1, 2]
    finally:
        listener.stop()
