"""The FastAPI application: REST API under /api/v1, OpenAPI at /docs, the SPA at /."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from arq import create_pool
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from redis import Redis

from filament import __version__
from filament.api.body_limits import BodyLimit
from filament.api.routers import (
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
    queue,
    score,
    strategies,
    suggestions,
    uploads,
    users,
)
from filament.core.settings import get_settings
from filament.redis import redis_settings
from filament.warmup import start_warming

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
    yield
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
    for module in (
        auth,
        users,
        backbones,
        strategies,
        projects,
        members,
        datasets,
        items,
        uploads,
        annotations,
        export,
        jobs,
        queue,
        suggestions,
        models,
        score,
    ):
        api.include_router(module.router)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    api.include_router(models.downloads)
    app.include_router(api)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(BodyLimit, api=app)
    _serve_spa(app)
    return app


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": "Internal server error; the details are in the server log"}, status_code=500
    )


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    from fastapi.encoders import jsonable_encoder

    return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)


def _serve_spa(app: FastAPI) -> None:
    """Serve the static export: exact files, then `<path>.html`, then index.html."""

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    async def spa(path: str) -> Response:
        if path.startswith("api/"):
            return JSONResponse({"detail": "Not found"}, status_code=404)
        root = (get_settings().spa_dir or SOURCE_SPA_DIR).resolve()
        for candidate in (root / path, root / f"{path}.html", root / path / "index.html"):
            resolved = candidate.resolve()
            if resolved.is_relative_to(root) and resolved.is_file():
                return FileResponse(resolved)
        index = root / "index.html"
        if index.is_file():
            return FileResponse(index)
        return JSONResponse(
            {"detail": "The web app is not built; run `make frontend` (the API is at /docs)"},
            status_code=404,
        )
