"""Every request gets an id: the client's `X-Request-ID` when it is a sane one, else a new
one. It is in the answer's `X-Request-ID` header, in every log line written while the request
is served (`filament.core.logs`), in the jobs the request enqueues, and in one access line per
request (logger `filament.access`: method, path, status, milliseconds; never
the query string, which can hold one-time download tickets)."""

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filament.core.logs import request_id_from, request_id_var

access_log = logging.getLogger("filament.access")
HEADER = "X-Request-ID"


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(HEADER))
        # not reset afterwards: each request runs in its own task (its own context), and the
        # handler of unexpected errors, which runs outside this middleware, logs with it
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
