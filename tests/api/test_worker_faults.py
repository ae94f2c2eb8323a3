"""Faults of the worker side, through real processes, the real database and Redis: a worker
killed mid-job, `filament run` losing its worker, Redis losing its data."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from arq.connections import RedisSettings, create_pool

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.api.test_team_queue import _free_port, _wait_until_up

ROOT = Path(__file__).resolve().parents[2]


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "filament.cli", "worker"], env=env, cwd=ROOT)


def _embed_rows(project_id: int) -> list[tuple[str, float]]:
    from filament.db.models import Job
    from filament.db.session import session_scope
    from sqlmodel import col, select

    with session_scope() as session:
        rows = session.exec(
            select(Job)
            .where(Job.project_id == project_id, Job.type == "embed")
            .order_by(col(Job.id))
        ).all()
        return [(job.status, job.progress) for job in rows]


def _pending(project_id: int) -> int:
    from filament.db.models import Item, ItemStatus
    from filament.db.session import session_scope
    from sqlmodel import func, select

    with session_scope() as session:
        return session.exec(
            select(func.count()).where(
                Item.project_id == project_id, Item.status == ItemStatus.pending
            )
        ).one()


def _wait(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def test_a_killed_workers_embed_run_is_finished_by_another(client, owner, monkeypatch):  # type: ignore[no-untyped-def]
    from filament.db.models import Item
    from filament.db.session import session_scope
    from filament.models.artifacts import load_embeddings
    from filament.storage import get_storage
    from sqlmodel import func, select

    lease = 4
    monkeypatch.setenv("FILAMENT_JOB_LEASE_SECONDS", str(lease))
    rows = [(f"n{i}", f"a story about topic {i % 7} and the number {i}") for i in range(1600)]
    pid = text_project(client, owner, rows)
    env = dict(os.environ)
    first = _worker(env)
    try:
        _wait(
            lambda: any(s == "running" and p > 0 for s, p in _embed_rows(pid)),
            120,
            "the first worker never got into the embed run",
        )
        first.send_signal(signal.SIGKILL)  # mid-run: its chunk, lock and arq mark stay behind
        first.wait(timeout=10)
        assert _pending(pid) > 0
        killed_at = time.monotonic()
        second = _worker(env)
        try:
            _wait(lambda: _pending(pid) == 0, 240, "the embed run was never finished")
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert time.monotonic() - killed_at < 240
    with session_scope() as session:
        items = session.exec(select(func.count()).where(Item.project_id == pid)).one()
    embeddings = load_embeddings(get_storage(), pid, None)
    assert items == len(rows)
    assert len(embeddings.item_ids) == items  # nothing lost, nothing twice
    assert len(set(embeddings.item_ids.tolist())) == items
    statuses = [status for status, _ in _embed_rows(pid)]
    assert statuses[0] == "failed" and "done" in statuses  # the dead run says so


def test_filament_run_restarts_a_killed_worker_and_keeps_answering(env, tmp_path):  # type: ignore[no-untyped-def]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        [sys.executable, "-m", "filament.cli", "run", "--port", str(port)],
        env=dict(os.environ),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url)

        def workers() -> list[psutil.Process]:
            return [
                child
                for child in psutil.Process(run.pid).children()
                if "worker" in child.cmdline() and child.is_running()
            ]

        _wait(lambda: len(workers()) == 1, 30, "no worker started")
        (worker,) = workers()
        worker.send_signal(signal.SIGKILL)
        for _ in range(10):  # the API answers throughout
            assert httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200
            time.sleep(0.2)
        _wait(
            lambda: [w.pid for w in workers()] not in ([], [worker.pid]),
            30,
            "the worker was not restarted",
        )
        assert run.poll() is None  # the service did not stop
        # and the new worker works: an upload is read and embedded
        http = httpx.Client(base_url=url, timeout=30)
        http.post(
            "/api/v1/auth/register", json={"email": "r@example.com", "password": "correct horse 1"}
        )
        token = http.post(
            "/api/v1/auth/token", data={"username": "r@example.com", "password": "correct horse 1"}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        pid = http.post(
            "/api/v1/projects",
            json={"name": "R", "task": "text_classification", "labels": ["a", "b"]},
        ).json()["id"]
        csv = "id,text\n" + "".join(f"i{i},text number {i}\n" for i in range(20))
        assert (
            http.post(
                f"/api/v1/projects/{pid}/items", files=[("files", ("t.csv", csv.encode()))]
            ).status_code
            == 202
        )
        _wait(
            lambda: http.get(f"/api/v1/projects/{pid}/status").json()["items_ready"] == 20,
            120,
            "the restarted worker did not embed the upload",
        )
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=40)
        except subprocess.TimeoutExpired:
            run.kill()
        log.close()
    assert "restarting it in" in (tmp_path / "run.log").read_text()


def test_work_redis_lost_is_asked_for_again(client, owner, run_jobs, redis_url, monkeypatch):  # type: ignore[no-untyped-def]
    from filament_worker import reconcile

    monkeypatch.setattr(reconcile, "SETTLE", reconcile.timedelta(0))

    async def lose_everything_then_reconcile() -> dict[str, list[int]]:
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            await redis.flushall()  # a Redis restarted without persistence
            return await reconcile.reconcile_once(redis)
        finally:
            await redis.aclose()

    rows = synthetic_rows(12)
    pid = text_project(client, owner, rows)  # its ingest job is queued in Redis only
    asked = asyncio.run(lose_everything_then_reconcile())
    assert len(asked["ingest"]) == 1
    run_jobs()
    assert _pending(pid) == 0
    items = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    assert len(items) == len(rows)
    for item in items[:8]:
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
        assert answer.status_code == 201
    asked = asyncio.run(lose_everything_then_reconcile())  # the training request is lost
    assert asked["train"] == [pid] and asked["ingest"] == []
    run_jobs()
    status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
    assert status["model_version"] is not None and status["labels_in_model"] == 8
    assert asyncio.run(lose_everything_then_reconcile())["train"] == []  # nothing left to ask


def test_the_worker_waits_out_a_redis_restart(tmp_path, monkeypatch, env):  # type: ignore[no-untyped-def]
    """Redis goes away for 8 s and comes back empty: the worker reconnects (it does not exit)
    and runs the next upload's jobs."""
    from fastapi.testclient import TestClient
    from filament.api.app import create_app
    from filament.core.redis import start_embedded_redis
    from filament.core.settings import Settings, get_settings

    from tests.conftest import register

    server, url = start_embedded_redis(Settings(data_dir=tmp_path / "own-redis"))
    monkeypatch.setenv("FILAMENT_REDIS_URL", url)
    monkeypatch.setenv("FILAMENT_EMBEDDED_REDIS_PORT", url.rsplit(":", 1)[1].split("/")[0])
    get_settings.cache_clear()
    worker = _worker(dict(os.environ))
    try:
        with TestClient(create_app()) as client:
            owner = register(client)
            time.sleep(2)  # the worker is up and polling
            server.shutdown()  # type: ignore[attr-defined]
            (tmp_path / "own-redis" / "redis.db").unlink(missing_ok=True)  # back empty
            time.sleep(8)
            assert worker.poll() is None, "the worker exited when Redis went away"
            server, _ = start_embedded_redis(Settings(data_dir=tmp_path / "own-redis"))
            pid = text_project(client, owner, synthetic_rows(10))
            _wait(lambda: _pending(pid) == 0 and _items(pid) == 10, 120, "nothing embedded")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.shutdown()  # type: ignore[attr-defined]
        get_settings.cache_clear()


def _items(project_id: int) -> int:
    from filament.db.models import Item
    from filament.db.session import session_scope
    from sqlmodel import func, select

    with session_scope() as session:
        return session.exec(select(func.count()).where(Item.project_id == project_id)).one()
