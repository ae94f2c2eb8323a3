"""The FastAPI application: REST API under /api/v1, OpenAPI at /docs, the SPA at /."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from arq import create_pool
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from filament import __version__
from filament.api import metrics, responses
from filament.api.body_limits import BodyLimit
from filament.api.request_ids import HEADER as REQUEST_ID_HEADER
from filament.api.request_ids import RequestIds
from filament.api.routers import (
    activity,
    admin,
    agreement,
    annotations,
    annotators,
    auth,
    backbones,
    config,
    conflicts,
    datasets,
    export,
    guidelines,
    invitations,
    items,
    jobs,
    members,
    models,
    projects,
    quality,
    queue,
    score,
    strategies,
    suggestions,
    uploads,
    users,
    webhooks,
)
from filament.api.security_headers import SecurityHeaders, html_policy
from filament.core.errors import DomainError
from filament.core.logs import configure_logging, current_request_id
from filament.core.redis import redis_settings
from filament.core.settings import get_settings
from filament.models.warmup import Listener, start_warming

log = logging.getLogger("filament.api")
# the web app's static export in a source checkout (FILAMENT_SPA_DIR points elsewhere)
SOURCE_SPA_DIR = Path(__file__).resolve().parents[3] / "frontend" / "out"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    if not settings.redis_url:
        raise RuntimeError(
            "FILAMENT_REDIS_URL is not set: start Filament with `filament run` (which starts an "
            "embedded Redis) or point FILAMENT_REDIS_URL at a Redis server"
        )
    app.state.arq = await create_pool(redis_settings(settings.redis_url))
    # sync client for locks and flags; with timeouts, so a Redis that is gone answers 503
    # (`_dependency_down`) instead of holding requests
    app.state.redis = Redis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
    )
    # /score runs small batches while other requests wait for the CPU: one torch thread per
    # API process measured up to 17x faster at batch 1 than two on a busy 2-core machine
    torch.set_num_threads(settings.api_torch_threads)
    # the ~280k objects of the imports (torch, transformers, pydantic models) never die: frozen,
    # the full collections stop walking them (135 ms pauses of every request in the process)
    gc.collect()
    gc.freeze()
    start_warming(settings.api_warm_projects)
    listener = Listener(app.state.redis).start() if settings.api_warm_on_announce else None
    yield
    if listener is not None:
        listener.stop()
    await app.state.arq.aclose()
    app.state.redis.close()


def create_app() -> FastAPI:
    settings = get_settings()
    # JSON lines are for machines: every request's access line (INFO) by default; a terminal
    # running `filament run` stays as quiet as uvicorn's warning level
    default_level = "INFO" if settings.log_format == "json" else "WARNING"
    configure_logging(
        settings.log_format,
        settings.log_level or default_level,
        uvicorn=settings.log_format == "json",
    )
    app = FastAPI(
        title="Filament",
        version=__version__,
        description="Active-learning labeling platform: REST API v1.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    api = APIRouter(prefix="/api/v1")
    for module, documented in (
        (auth, responses.AUTH),
        (users, responses.SIGNED_IN),
        (backbones, responses.SIGNED_IN),
        (strategies, responses.SIGNED_IN),
        (projects, responses.PROJECT),
        (members, responses.MEMBERS),
        (invitations, responses.MEMBERS),
        (admin, responses.ADMIN),
        (config, responses.PUBLIC),
        (datasets, responses.PROJECT),
        (items, responses.PROJECT_UPLOAD),
        (uploads, responses.PROJECT_UPLOAD),
        (annotations, responses.PROJECT),
        (conflicts, responses.PROJECT),
        (export, responses.PROJECT),
        (jobs, responses.PROJECT),
        (queue, responses.PROJECT),
        (suggestions, responses.PROJECT),
        (models, responses.PROJECT),
        (agreement, responses.PROJECT),
        (guidelines, responses.PROJECT),
        (annotators, responses.PROJECT),
        (activity, responses.PROJECT),
        (quality, responses.PROJECT),
        (webhooks, responses.PROJECT),
        (score, responses.PROJECT_UPLOAD),
    ):
        api.include_router(module.router, responses=documented)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @api.get("/health/ready", tags=["health"], responses={503: {"description": "not ready"}})
    def ready(request: Request) -> JSONResponse:
        """Readiness: the database and Redis answer (503 says which does not)."""
        from filament.db.session import database_answers

        checks = {"database": "ok" if database_answers() else "unavailable"}
        try:
            request.app.state.redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unavailable"
        up = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if up else "unavailable", **checks},
            status_code=200 if up else 503,
            headers=None if up else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    api.include_router(models.downloads, responses=responses.DOWNLOAD)
    api.include_router(invitations.links, responses=responses.INVITATION_LINK)
    app.include_router(api)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    for error in (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError):
        app.add_exception_handler(error, _dependency_down)
    app.add_middleware(BodyLimit, api=app)
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds)
    metrics.install(app, settings)  # times what the middlewares above add, too
    app.add_middleware(RequestIds)  # outermost: every answer and log line carries the id
    _serve_spa(app)
    return app


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # this handler answers outside the middlewares, so it adds the request id itself
    request_id = current_request_id()
    return JSONResponse(
        {"detail": "Internal server error; the details are in the server log"},
        status_code=500,
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )


RETRY_AFTER_SECONDS = 5


async def _dependency_down(request: Request, error: Exception) -> JSONResponse:
    """Redis or the database is unreachable (restarting, failing over): 503 with a reason and
    when to retry, never a 500 or a request that hangs. Nothing was half-done: the domain writes
    the database in one commit, and the claim protocol survives a lost Redis
    (`filament.labeling.leases`)."""
    which = "Redis" if isinstance(error, RedisConnectionError | RedisTimeoutError) else "database"
    log.warning("%s unavailable on %s %s: %s", which, request.method, request.url.path, error)
    what = "the job and lease store (Redis)" if which == "Redis" else "the database"
    return JSONResponse(
        {"detail": f"Filament cannot reach {what} right now; try again in a few seconds"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _domain_error(request: Request, error: DomainError) -> JSONResponse:
    """The domain's refusals (`filament.core.errors`), answered as FastAPI answers its own."""
    return JSONResponse({"detail": str(error)}, status_code=error.status, headers=error.headers)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    from fastapi.encoders import jsonable_encoder

    return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


class _SpaPath(PathConvertor):
    """Any path but the API's: /api/... never reaches the SPA, so a wrong method on an API path
    is a 405 (not the SPA's GET) and an unknown API path is a JSON 404."""

    regex = r"(?!api(?:/|$)).*"


register_url_convertor("spa", _SpaPath())


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    """FastAPI's answer, with a 405's Allow header naming every method of the path: Starlette
    names only the first route's, and FastAPI has one route per method."""
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        allowed = _allowed_methods(request.app, request.url.path)
        error.headers = {**(error.headers or {}), "Allow": ", ".join(allowed)}
    return await http_exception_handler(request, error)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The documented methods of the OpenAPI path that matches `path`."""
    for template, operations in app.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            return sorted(method.upper() for method in operations)
    return []


def _spa_file(path: Path) -> FileResponse:
    if path.suffix != ".html":
        return FileResponse(path)
    policy = html_policy(path, get_settings())
    return FileResponse(path, headers={"Content-Security-Policy": policy})


def _serve_spa(app: FastAPI) -> None:
    """Serve the static export: exact files, then `<path>.html`, then index.html. HEAD too:
    the SPA's prefetch asks with HEAD, and each 405 was an error in the browser's console."""

    @app.api_route(
        "/{path:spa}", methods=["GET", "HEAD"], include_in_schema=False, response_model=None
    )
    async def spa(path: str) -> Response:
        root = (get_settings().spa_dir or SOURCE_SPA_DIR).resolve()
        for candidate in (root / path, root / f"{path}.html", root / path / "index.html"):
            resolved = candidate.resolve()
            if resolved.is_relative_to(root) and resolved.is_file():
                return _spa_file(resolved)
        index = root / "index.html"
        if index.is_file():
            return _spa_file(index)
        return JSONResponse(
            {"detail": "The web app is not built; run `make frontend` (the API is at /docs)"},
            status_code=404,
        )
