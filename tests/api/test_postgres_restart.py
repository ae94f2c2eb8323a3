"""PostgreSQL restarting under a running service: a private cluster (initdb, pg_ctl) is
stopped in the middle of an embed run and started again 8 seconds later. Meanwhile the API
answers 503 with a reason, quickly; afterwards the run finishes on its own, and nothing is
lost or done twice (items, embeddings, labels, the active model).

The cluster is the machine's own PostgreSQL binaries run as the `postgres` account; where
they or the account are missing the test is skipped, saying so."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_loop import label_of, text_project
from tests.api.test_worker_faults import _embed_rows, _pending, _wait, _worker
from tests.conftest import register

PG_BIN = Path("/usr/lib/postgresql")
DOWN_SECONDS = 8


def _binaries() -> Path | None:
    found = sorted(PG_BIN.glob("*/bin/pg_ctl")) or (
        [Path(p)] if (p := shutil.which("pg_ctl")) else []
    )
    return found[-1].parent if found else None


def _as_postgres(*command: str) -> list[str]:
    """A command run as the `postgres` account when this process is root (PostgreSQL
    refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class Cluster:
    def __init__(self, folder: Path, port: int) -> None:
        self.bin, self.folder, self.port = _binaries(), folder, port

    def pg_ctl(self, *args: str) -> None:
        command = _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args)
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if _binaries() is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    if os.geteuid() == 0 and subprocess.run(["id", "postgres"], capture_output=True).returncode:
        pytest.skip("running as root without a `postgres` account to run PostgreSQL as")
    # not under pytest's tmp_path: its parents are private to this account, and the postgres
    # account writes its data, socket and log here
    folder = Path(tempfile.mkdtemp(prefix="filament-pg-"))
    os.chmod(folder, 0o777)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    made = Cluster(folder, port)
    initdb = _as_postgres(
        str(made.bin / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "-A", "trust"
    )
    subprocess.run(initdb, check=True, capture_output=True, timeout=120)
    made.start()
    try:
        yield made
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            made.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # replaced by the cluster
def test_a_postgres_restart_mid_embed_loses_nothing(cluster, env, monkeypatch):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from filament.api.app import create_app
    from filament.db.migrate import upgrade
    from filament.db.models import Item
    from filament.db.session import session_scope
    from filament.models.artifacts import load_embeddings
    from filament.storage import get_storage
    from sqlmodel import func, select

    from tests.conftest import reset_caches

    url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
    monkeypatch.setenv("FILAMENT_DATABASE_URL", url)
    monkeypatch.setenv("FILAMENT_JOB_LEASE_SECONDS", "4")
    reset_caches()
    upgrade(url)
    rows = [(f"i{i}", f"the food was {'great' if i % 2 else 'awful'} and {i}") for i in range(1200)]
    with TestClient(create_app()) as client:
        owner = register(client)
        pid = text_project(client, owner, rows)
        worker = _worker(dict(os.environ))
        try:
            _wait(
                lambda: any(s == "running" and p > 0 for s, p in _embed_rows(pid)),
                300,
                "the worker never got into the embed run",
            )
            cluster.stop()
            down_at = time.monotonic()
            while time.monotonic() - down_at < DOWN_SECONDS:
                asked = time.monotonic()
                status = client.get(f"/api/v1/projects/{pid}/status", headers=owner)
                assert status.status_code == 503, status.text
                assert "database" in status.json()["detail"].lower()
                assert time.monotonic() - asked < 10  # a reason soon, never a hang
                ready = client.get("/api/v1/health/ready")
                assert ready.status_code == 503 and ready.json()["database"] == "unavailable"
                time.sleep(1)
            cluster.start()
            _wait(lambda: _pending(pid) == 0, 300, "the embed run never finished after the restart")
            _wait(
                lambda: (
                    client.get(f"/api/v1/projects/{pid}/status", headers=owner).status_code == 200
                ),
                60,
                "the API did not recover",
            )
            listed = client.get(f"/api/v1/projects/{pid}/items?limit=40", headers=owner).json()
            for item in listed["data"][:30]:
                answer = client.post(
                    f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
                    headers=owner,
                    json={"labels": [label_of(item["name"])]},
                )
                assert answer.status_code == 201, answer.text
            _wait(
                lambda: (
                    client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()[
                        "model_version"
                    ]
                    is not None
                ),
                300,
                "no model after the restart",
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
        assert status["labeled"] == 30 and status["items_ready"] == len(rows)
    with session_scope() as session:
        items = session.exec(select(func.count()).where(Item.project_id == pid)).one()
    embeddings = load_embeddings(get_storage(), pid, None)
    assert items == len(rows)
    assert len(embeddings.item_ids) == len(set(embeddings.item_ids.tolist())) == items
