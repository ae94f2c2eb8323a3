"""Request ids: taken from X-Request-ID (or made), returned, in every log line of the request
(JSON lines with FILAMENT_LOG_FORMAT=json), and handed to the jobs the request enqueues, whose
log lines carry it, and on to the jobs those enqueue."""

import io
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.test_loop import synthetic_rows, text_project
from tests.conftest import register


@pytest.fixture
def json_logs(env, monkeypatch):
    """An app logging JSON lines; the lines it writes, read back."""
    from filament.api.app import create_app
    from filament.core.logs import HANDLER_NAME
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_LOG_FORMAT", "json")
    get_settings.cache_clear()
    app = create_app()
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    written = io.StringIO()
    handler.setStream(written)

    def lines() -> list[dict]:
        return [json.loads(line) for line in written.getvalue().splitlines()]

    # a 500 is answered, not raised into the test (as a server would answer it)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, lines


def test_the_request_id_is_taken_or_made_and_returned(client):
    sent = client.get("/api/v1/health", headers={"X-Request-ID": "deploy-42.a"})
    assert sent.headers["X-Request-ID"] == "deploy-42.a"
    made = client.get("/api/v1/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/api/v1/health").headers["X-Request-ID"] != made
    # an id that could forge log lines or bloat them is replaced
    for bad in ("two words", "x" * 200, "line\\nbreak"):
        answer = client.get("/api/v1/health", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    # errors carry it too
    missing = client.get("/api/v1/projects/1", headers={"X-Request-ID": "r-401"})
    assert missing.status_code == 401 and missing.headers["X-Request-ID"] == "r-401"


def test_json_log_lines_carry_the_request_id(json_logs):
    client, lines = json_logs
    headers = register(client)
    answer = client.get("/api/v1/projects/777", headers={**headers, "X-Request-ID": "trace-me-1"})
    assert answer.status_code == 404
    access = [line for line in lines() if line.get("request_id") == "trace-me-1"]
    assert access, lines()
    (entry,) = [line for line in access if line["logger"] == "filament.access"]
    assert entry["level"] == "INFO" and entry["status"] == 404
    assert entry["path"] == "/api/v1/projects/777" and entry["duration_ms"] >= 0
    assert entry["message"] == "GET /api/v1/projects/777 404"
    assert set(entry) >= {"time", "level", "logger", "message", "request_id"}


def test_an_unexpected_error_logs_with_the_request_id(json_logs, monkeypatch):
    client, lines = json_logs
    from filament.api.routers import strategies

    headers = register(client)
    monkeypatch.setattr(strategies, "STRATEGIES", None)  # list_strategies fails on it
    answer = client.get("/api/v1/strategies", headers={**headers, "X-Request-ID": "bug-7"})
    assert answer.status_code == 500 and answer.headers["X-Request-ID"] == "bug-7"
    errors = [line for line in lines() if line["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == "bug-7" and "exception" in errors[0]


def test_jobs_log_with_the_request_id_that_enqueued_them(client, run_jobs, caplog):
    from filament.core.logs import JsonFormatter

    owner = register(client)
    caplog.set_level(logging.INFO)
    made = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "T", "task": "text_classification", "labels": ["negative", "positive"]},
    )
    body = "id,text\n" + "".join(f"{n},{t}\n" for n, t in synthetic_rows(6))
    upload = client.post(
        f"/api/v1/projects/{made.json()['id']}/items",
        headers={**owner, "X-Request-ID": "upload-abc"},
        files=[("files", ("t.csv", io.BytesIO(body.encode())))],
    )
    assert upload.status_code == 202
    other = text_project(client, owner, synthetic_rows(4))  # another request, another id
    assert other
    run_jobs()
    finished = [
        record
        for record in caplog.records
        if record.name == "filament.worker" and record.getMessage().startswith("job ")
    ]
    by_job = {(r.getMessage().split("(")[0], r.request_id) for r in finished}
    # the ingest job the upload enqueued, and the embed job that ingest enqueued in turn
    assert ("job ingest", "upload-abc") in by_job and ("job embed", "upload-abc") in by_job
    ours = [r for r in caplog.records if getattr(r, "request_id", None) == "upload-abc"]
    assert any(r.name == "filament.worker" and "embedded" in r.getMessage() for r in ours)
    line = json.loads(JsonFormatter().format(ours[-1]))
    assert line["request_id"] == "upload-abc"
    # the other upload's jobs carry the other request's id, not this one
    assert len({r.request_id for r in finished if r.request_id}) == 2
