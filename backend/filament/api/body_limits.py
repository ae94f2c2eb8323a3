"""Request-body limits: a small default for every route, large ones only where a route declares
them (uploads, scoring), and authentication before a large body is read.

The limit is enforced while the body streams in, so an oversized request costs at most the
limit, never the whole body. A route that takes large bodies says so with `@large_body(...)`.
"""

import re
from typing import Any, Literal

import anyio.to_thread
from fastapi import FastAPI, HTTPException, status
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filament.core.settings import Settings, get_settings

BodyKind = Literal["default", "upload", "score"]
_EXTENSION = "x-filament-body-limit"
_SETTING = {
    "default": "max_request_bytes",
    "upload": "max_upload_bytes",
    "score": "max_score_request_bytes",
}


def large_body(kind: BodyKind) -> dict[str, Any]:
    """`openapi_extra` of a route taking bodies up to the `kind` limit (authenticated only)."""
    return {_EXTENSION: {"kind": kind, "setting": f"FILAMENT_{_SETTING[kind].upper()}"}}


def body_limit(settings: Settings, kind: BodyKind) -> int:
    return int(getattr(settings, _SETTING[kind]))


class BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body parsing passes it on instead of making it a 400."""

    def __init__(self, limit: int, kind: BodyKind) -> None:
        setting = f"FILAMENT_{_SETTING[kind].upper()}"
        what = "upload" if kind == "upload" else "request body"
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"The {what} is larger than the limit of {limit:,} bytes ({setting})",
        )


class BodyLimit:
    """ASGI middleware: the body limit of the route a request goes to, checked as it streams."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._large: list[tuple[str, re.Pattern[str], BodyKind]] | None = None

    def _kind(self, scope: Scope) -> BodyKind:
        if self._large is None:  # read once, from the schema the routes declare
            self._large = [
                (
                    method.upper(),
                    re.compile(re.sub(r"\{[^}/]+\}", "[^/]+", path) + "$"),
                    extra["kind"],
                )
                for path, operations in self.api.openapi()["paths"].items()
                for method, operation in operations.items()
                if (extra := operation.get(_EXTENSION))
            ]
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # served under a prefix: the routes' own path
            path = path[len(root) :]
        for method, pattern, kind in self._large:
            if scope["method"] == method and pattern.match(path):
                return kind
        return "default"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        default = body_limit(settings, "default")
        headers = dict(scope["headers"])
        raw_length = headers.get(b"content-length")
        declared = int(raw_length) if raw_length and raw_length.isdigit() else None
        # the route lookup only when a body over the smallest limit is declared or streamed
        # without a length (chunked): the usual small requests pay nothing for it
        floor = min(body_limit(settings, kind) for kind in _SETTING)
        may_be_large = declared > floor if declared is not None else b"transfer-encoding" in headers
        kind: BodyKind = self._kind(scope) if may_be_large else "default"
        limit = body_limit(settings, kind)
        if declared is not None and declared > limit:
            await _refuse(BodyTooLarge(limit, kind), scope, receive, send)
            return
        if kind != "default" and (declared is None or declared > default):
            refusal = await anyio.to_thread.run_sync(_authentication_error, headers, settings)
            if refusal is not None:
                await _refuse(refusal, scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit, kind)
            return message

        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as error:  # raised outside FastAPI's handlers
            if started:
                raise
            await _refuse(error, scope, receive, send)


def _authentication_error(headers: dict[bytes, bytes], settings: Settings) -> HTTPException | None:
    """The 401 the route would give, decided before its large body is read (same checks)."""
    from filament.api.deps import get_current_user
    from filament.db.session import get_engine

    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    with Session(get_engine()) as session:
        try:
            get_current_user(session, settings, token if scheme.lower() == "bearer" else None)
        except HTTPException as error:
            return error
    return None


async def _refuse(error: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )
    # tell the client to stop sending instead of waiting for it to finish a huge body
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
