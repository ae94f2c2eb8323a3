"""While Redis or the database cannot be reached, the API answers 503 with a reason and a
Retry-After, quickly (never a 500, never a hang), and recovers by itself when it is back."""

import time

from filament.core.redis import start_embedded_redis
from filament.core.settings import Settings
from sqlalchemy.exc import OperationalError

from tests.api.test_loop import synthetic_rows, text_project


def test_redis_going_away_answers_503_then_recovers(tmp_path, monkeypatch, env):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from filament.api.app import create_app
    from filament.core.settings import get_settings

    server, url = start_embedded_redis(Settings(data_dir=tmp_path / "own-redis"))
    port = url.rsplit(":", 1)[1].split("/")[0]
    monkeypatch.setenv("FILAMENT_REDIS_URL", url)
    monkeypatch.setenv("FILAMENT_EMBEDDED_REDIS_PORT", port)
    get_settings.cache_clear()
    from tests.conftest import register

    with TestClient(create_app()) as client:
        owner = register(client)
        pid = text_project(client, owner, synthetic_rows(6))
        queue = f"/api/v1/projects/{pid}/queue"
        assert client.get(queue, headers=owner).status_code == 200
        server.shutdown()  # type: ignore[attr-defined]
        started = time.monotonic()
        answer = client.get(queue, headers=owner)
        assert answer.status_code == 503, answer.text
        assert "Redis" in answer.json()["detail"] and answer.headers["Retry-After"]
        assert time.monotonic() - started < 15  # a reason soon, not a hang
        ready = client.get("/api/v1/health/ready")
        assert ready.status_code == 503 and ready.json()["redis"] == "unavailable"
        assert ready.json()["database"] == "ok"
        assert client.get("/api/v1/health").status_code == 200  # alive all the same

        again, _ = start_embedded_redis(Settings(data_dir=tmp_path / "own-redis"))
        try:
            deadline = time.monotonic() + 20
            while client.get(queue, headers=owner).status_code != 200:
                assert time.monotonic() < deadline, "the API did not recover when Redis came back"
                time.sleep(0.5)
            assert client.get("/api/v1/health/ready").status_code == 200
        finally:
            again.shutdown()  # type: ignore[attr-defined]
    get_settings.cache_clear()


def test_a_database_that_cannot_be_reached_answers_503(client, owner, monkeypatch):  # type: ignore[no-untyped-def]
    from filament.db import session as db_session

    pid = text_project(client, owner, synthetic_rows(4))

    def down(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    engine = db_session.get_engine()
    monkeypatch.setattr(engine, "connect", down)
    monkeypatch.setattr(engine.pool, "connect", down)
    answer = client.get(f"/api/v1/projects/{pid}/items", headers=owner)
    assert answer.status_code == 503, answer.text
    assert "database" in answer.json()["detail"] and answer.headers["Retry-After"]
    assert client.get("/api/v1/health/ready").json()["database"] == "unavailable"
