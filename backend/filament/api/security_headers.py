"""Browser-facing hardening headers on every answer, API and web app alike.

The API's JSON may not be framed, sniffed or run as a page (`default-src 'none'`). The web
app's HTML pages get a policy that allows only its own origin, plus the sha256 of each inline
script in that page (the static export's bootstrap scripts), so no `'unsafe-inline'` script
runs. HSTS is sent on HTTPS answers: a direct TLS connection, or X-Forwarded-Proto: https from
the proxy in front (a browser ignores HSTS received over plain HTTP, so an untrusted header
cannot do harm)."""

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from filament.core.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


def storage_origins(settings: Settings) -> str:
    """Where the browser itself talks to object storage: presigned item images (img-src)
    and direct uploads (connect-src)."""
    if not settings.s3_bucket:
        return ""
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        return f" {parts.scheme}://{parts.netloc}"
    return " https://*.amazonaws.com"


def page_policy(script_hashes: tuple[str, ...], settings: Settings) -> str:
    scripts = " ".join(f"'sha256-{digest}'" for digest in script_hashes)
    storage = storage_origins(settings)
    return (
        "default-src 'self'; "
        f"script-src 'self' {scripts}; "
        # React renders style attributes (progress bars, sizes): styles may be inline
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{storage}; "
        f"connect-src 'self'{storage}; "
        "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


@lru_cache(maxsize=256)
def _script_hashes(path: Path, mtime_ns: int) -> tuple[str, ...]:
    return tuple(
        base64.b64encode(hashlib.sha256(body).digest()).decode()
        for body in _INLINE_SCRIPT.findall(path.read_bytes())
    )


def html_policy(path: Path, settings: Settings) -> str:
    """The policy for one exported HTML page (hashes cached until the file changes)."""
    return page_policy(_script_hashes(path, path.stat().st_mtime_ns), settings)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts_seconds: int) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https" or (
            dict(scope["headers"]).get(b"x-forwarded-proto", b"").split(b",")[0].strip() == b"https"
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", API_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                # tickets and ids in URLs never leave in a Referer
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if https and self.hsts_seconds:
                    headers["Strict-Transport-Security"] = (
                        f"max-age={self.hsts_seconds}; includeSubDomains"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
