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
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from filament import __version__
from filament.api import responses
from filament.api.body_limits import BodyLimit
from filament.api.routers import (
    agreement,
    annotations,
    auth,
    backbones,
    datasets,
    export,
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
)
from filament.api.security_headers import SecurityHeaders, html_policy
from filament.core.errors import DomainError
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
    app.state.redis = Redis.from_url(settings.redis_url)  # sync client for locks and flags
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
        (datasets, responses.PROJECT),
        (items, responses.PROJECT_UPLOAD),
        (uploads, responses.PROJECT_UPLOAD),
        (annotations, responses.PROJECT),
        (export, responses.PROJECT),
        (jobs, responses.PROJECT),
        (queue, responses.PROJECT),
        (suggestions, responses.PROJECT),
        (models, responses.PROJECT),
        (agreement, responses.PROJECT),
        (quality, responses.PROJECT),
        (score, responses.PROJECT_UPLOAD),
    ):
        api.include_router(module.router, responses=documented)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    api.include_router(models.downloads, responses=responses.DOWNLOAD)
    app.include_router(api)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, api=app)
    app.add_middleware(SecurityHeaders, hsts_seconds=get_settings().hsts_seconds)
    _serve_spa(app)
    return app


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": "Internal server error; the details are in the server log"}, status_code=500
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
    """Serve the static export: exact files, then `<path>.html`, then index.html."""

    @app.get("/{path:spa}", include_in_schema=False, response_model=None)
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
