"""Prometheus /metrics: off by default, behind its token when one is set, and what it reports
(latency by route template, queue lengths, job runs, embedding throughput, model versions),
read back with prometheus_client's own parser."""

import asyncio

import pytest
from arq import create_pool
from arq.worker import Function
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.conftest import register


def scrape(client, headers=None) -> dict[str, list]:
    answer = client.get("/metrics", headers=headers or {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def value(families, family: str, sample: str, **labels) -> float | None:
    matching = [
        s.value
        for s in families.get(family, [])
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(matching) if matching else None


@pytest.fixture
def metrics_app(env, monkeypatch):
    """An app with metrics on (and the token the test sets, if any)."""
    from filament.api.app import create_app
    from filament.core.settings import get_settings

    def make(token: str | None = None) -> TestClient:
        monkeypatch.setenv("FILAMENT_METRICS", "on")
        if token:
            monkeypatch.setenv("FILAMENT_METRICS_TOKEN", token)
        get_settings.cache_clear()
        return TestClient(create_app())

    return make


def test_metrics_are_off_by_default(client):
    answer = client.get("/metrics")
    assert answer.status_code == 404
    assert "FILAMENT_METRICS=on" in answer.json()["detail"]


def test_a_token_guards_the_metrics(metrics_app):
    with metrics_app(token="scrape-me-please") as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
        scrape(client, {"Authorization": "Bearer scrape-me-please"})


def test_latency_by_route_template_queue_jobs_embedding_and_models(metrics_app, run_jobs):
    with metrics_app() as client:
        owner = register(client)
        pid = text_project(client, owner, synthetic_rows(30))
        for _ in range(3):
            assert client.get(f"/api/v1/projects/{pid}", headers=owner).status_code == 200
        assert client.get("/api/v1/projects/123456", headers=owner).status_code == 404
        assert client.get("/api/v1/no/such/route").status_code == 404
        before = scrape(client)
        latency = "filament_http_request_duration_seconds"
        project = "/api/v1/projects/{project_id}"
        assert value(before, latency, latency + "_count", route=project, status="200") == 3
        assert value(before, latency, latency + "_count", route=project, status="404") == 1
        assert value(before, latency, latency + "_count", route="unmatched") == 1
        # templates only: no series per raw path, whatever the ids clients send
        routes = {s.labels["route"] for s in before[latency]}
        templates = set(client.app.openapi()["paths"]) | {"unmatched", "/metrics", "/{path}"}
        assert routes <= templates and not any("123456" in r for r in routes)
        # the upload's ingest job waits in the cpu queue until a worker takes it
        queue = "filament_queue_jobs"
        assert value(before, queue, queue, queue="filament:cpu", state="ready") == 1
        assert value(before, queue, queue, queue="filament:gpu", state="ready") == 0

        run_jobs()  # ingest, then embed
        listed = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()
        for item in listed["data"][:20]:
            client.post(
                f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
                headers=owner,
                json={"labels": [label_of(item["name"])]},
            )
        run_jobs()  # the head trains
        after = scrape(client)
        jobs = "filament_job_duration_seconds"
        for job in ("ingest", "embed", "train_head"):
            assert value(after, jobs, jobs + "_count", job=job, outcome="ok") >= 1, job
            assert value(after, jobs, jobs + "_sum", job=job, outcome="ok") > 0
            inf = value(after, jobs, jobs + "_bucket", job=job, outcome="ok", le="+Inf")
            assert inf == value(after, jobs, jobs + "_count", job=job, outcome="ok")
        assert value(after, queue, queue, queue="filament:cpu", state="ready") == 0
        assert value(after, "filament_embedded_items", "filament_embedded_items_total") == 30
        assert value(after, "filament_embedding_seconds", "filament_embedding_seconds_total") > 0
        status = client.get(f"/api/v1/projects/{pid}/status", headers=owner).json()
        versions = client.get(f"/api/v1/projects/{pid}/models", headers=owner).json()["count"]
        assert (
            value(after, "filament_model_versions", "filament_model_versions", project=str(pid))
            == versions
        )
        active = value(
            after,
            "filament_model_active_version",
            "filament_model_active_version",
            project=str(pid),
        )
        assert active == status["model_version"]


def test_a_job_that_raises_counts_as_failed(env, redis_url):
    from filament.core.redis import redis_settings
    from filament.jobs.metrics import read_jobs
    from filament_worker.settings import observed
    from redis import Redis

    async def broken(ctx, project_id):
        raise RuntimeError("boom")

    async def run() -> None:
        pool = await create_pool(redis_settings(redis_url))
        job = observed(Function("broken", broken, None, None, None, None))
        with pytest.raises(RuntimeError):
            await job.coroutine({"redis": pool}, 1, request_id="abc")
        await pool.aclose()

    asyncio.run(run())
    figures = read_jobs(Redis.from_url(redis_url))
    assert figures[("broken", "failed")].count == 1
    assert ("broken", "ok") not in figures


def test_a_scrape_survives_a_source_that_fails(metrics_app, monkeypatch):
    from filament.api import metrics

    def broken(self):
        raise ConnectionError("the database is away")
        yield  # a generator, as the real parts are

    monkeypatch.setattr(metrics.FilamentCollector, "_models", broken)
    with metrics_app() as client:
        families = scrape(client)
    assert "filament_queue_jobs" in families and "filament_model_versions" not in families
