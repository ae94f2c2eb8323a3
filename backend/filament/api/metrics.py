"""Prometheus metrics at `/metrics` (FILAMENT_METRICS=on; with FILAMENT_METRICS_TOKEN, only
for `Authorization: Bearer <token>`).

Where each figure comes from:
- request latency: measured here, per API process, labelled by the route's template
  (`/api/v1/projects/{project_id}/items`, never the raw path: the number of series stays
  bounded whatever clients send), method and status. With several API processes on one
  machine (`filament run`), PROMETHEUS_MULTIPROC_DIR makes them share one set of figures
  (prometheus_client's multiprocess mode; `filament run` sets it up).
- queue lengths, job durations and failures, embedding throughput: read from Redis on each
  scrape. The workers are other processes, often on other machines; they add what they did
  to Redis (`filament.jobs.metrics`), so any API process answers with every worker's figures.
- model versions per project: counted in the database on each scrape (one grouped query).
"""

import functools
import hmac
import logging
import os
import re
import time
from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis import Redis
from sqlalchemy import case, func
from sqlmodel import col, select
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filament import jobs
from filament.core.settings import Settings
from filament.db.models import ModelVersion
from filament.db.session import session_scope
from filament.jobs import metrics as job_metrics

log = logging.getLogger("filament.metrics")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# seconds; most answers take milliseconds, uploads and first scores seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUEUES = (jobs.CPU_QUEUE, jobs.GPU_QUEUE)


def request_histogram(registry: CollectorRegistry | None) -> Histogram:
    return Histogram(
        "filament_http_request_duration_seconds",
        "Time to answer an API request, by route template, method and status",
        ["route", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )


class RouteTemplates:
    """The template of a request's path: one of the OpenAPI document's paths, `/metrics`, the
    web app's `/{path}`, or `unmatched`. (The route object in the ASGI scope names its path
    relative to the router that holds it, without the `/api/v1` it was included under.)"""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None
        self.template = functools.lru_cache(maxsize=4096)(self._match)  # raw paths: bounded

    def _match(self, path: str) -> str:
        if self._compiled is None:
            self._compiled = [
                (compile_path(template)[0], template) for template in self.api.openapi()["paths"]
            ]
        for pattern, template in self._compiled:
            if pattern.match(path):
                return template
        if path == "/metrics":
            return path
        return "unmatched" if path == "/api" or path.startswith("/api/") else "/{path}"


class RequestMetrics:
    """Times every request and counts it under its route's template."""

    def __init__(self, app: ASGIApp, histogram: Histogram, templates: RouteTemplates) -> None:
        self.app = app
        self.histogram = histogram
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = self.templates.template(scope["path"])
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.histogram.labels(route, method, str(status)).observe(time.perf_counter() - started)


class FilamentCollector(Collector):
    """The figures read at scrape time from Redis and the database."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    @property
    def redis(self) -> Redis:
        return self.app.state.redis  # made by the app's lifespan

    def collect(self) -> Iterator[Metric]:
        for part in (self._queues, self._jobs, self._embedding, self._models):
            try:
                yield from part()
            except Exception:  # one source away (Redis, the database): the others still answer
                log.warning("metrics: %s could not be read", part.__name__, exc_info=True)

    def _queues(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "filament_queue_jobs",
            "Jobs waiting in each arq queue: ready to run, or deferred to later",
            labels=["queue", "state"],
        )
        now_ms = time.time() * 1000
        for queue in QUEUES:
            waiting = self.redis.zcard(queue)
            ready = self.redis.zcount(queue, "-inf", now_ms)
            family.add_metric([queue, "ready"], ready)
            family.add_metric([queue, "deferred"], waiting - ready)
        yield family

    def _jobs(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "filament_job_duration_seconds",
            "Runs of worker jobs by outcome (ok, failed: it raised, cancelled: timed out or "
            "stopped); _count by outcome counts failures",
            labels=["job", "outcome"],
        )
        for (job, outcome), runs in sorted(job_metrics.read_jobs(self.redis).items()):
            family.add_metric([job, outcome], runs.cumulative(), runs.total)
        yield family

    def _embedding(self) -> Iterator[Metric]:
        items = CounterMetricFamily(
            "filament_embedded_items", "Items embedded by the workers", labels=["backbone"]
        )
        seconds = CounterMetricFamily(
            "filament_embedding_seconds",
            "Seconds the workers spent embedding (throughput: rate of items / rate of seconds)",
            labels=["backbone"],
        )
        for backbone, (count, spent) in sorted(job_metrics.read_embedding(self.redis).items()):
            items.add_metric([backbone], count)
            seconds.add_metric([backbone], spent)
        yield items
        yield seconds

    def _models(self) -> Iterator[Metric]:
        versions = GaugeMetricFamily(
            "filament_model_versions", "Model versions trained per project", labels=["project"]
        )
        active = GaugeMetricFamily(
            "filament_model_active_version",
            "The active model version of each project that has one",
            labels=["project"],
        )
        with session_scope() as session:
            rows = session.exec(
                select(
                    ModelVersion.project_id,
                    func.count(),
                    func.max(case((col(ModelVersion.active), ModelVersion.version))),
                ).group_by(col(ModelVersion.project_id))
            ).all()
        for project_id, count, version in rows:
            versions.add_metric([str(project_id)], count)
            if version is not None:
                active.add_metric([str(project_id)], version)
        yield versions
        yield active


def install(app: FastAPI, settings: Settings) -> None:
    """The middleware and `/metrics` when metrics are on; else `/metrics` answers 404 (not the
    web app's index page, which a scraper would take for an error it cannot read)."""
    if settings.metrics != "on":

        @app.get("/metrics", include_in_schema=False)
        def metrics_off() -> JSONResponse:
            return JSONResponse(
                {"detail": "Metrics are off on this server (FILAMENT_METRICS=on turns them on)"},
                status_code=404,
            )

        return
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    # own registries, not prometheus_client's global one: each app (tests make many) starts
    # from zero, and nothing else in the process lands in Filament's answer
    collector = FilamentCollector(app)
    local = CollectorRegistry()
    histogram = request_histogram(None if multiprocess else local)
    local.register(collector)
    app.add_middleware(RequestMetrics, histogram=histogram, templates=RouteTemplates(app))
    token = settings.metrics_token

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if token and not hmac.compare_digest(
            request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
        ):
            return JSONResponse(
                {"detail": "Metrics need the bearer token (FILAMENT_METRICS_TOKEN)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        registry = local
        if multiprocess:  # every API process's request figures, read from their files
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(collector)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
