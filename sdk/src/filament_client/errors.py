"""Errors: every refusal of the server is a `FilamentError` carrying its status and `detail`,
of a subclass per status so callers can catch the ones they handle."""

from __future__ import annotations

from typing import Any

import httpx


class FilamentError(Exception):
    """The server refused a request. `status` is the HTTP status, `detail` the server's
    `detail` (a message, or for 422 the list of validation errors), `retry_after` the seconds
    the server asked to wait (429, 503, 202), when it said."""

    def __init__(
        self,
        status: int,
        detail: Any,
        *,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.method = method
        self.url = url
        self.retry_after = retry_after
        where = "".join(f" {part}" for part in (method, url) if part)
        super().__init__(f"{status}{where}: {_message(detail)}")


class BadRequest(FilamentError):
    """400: the input is wrong in a way the server explains."""


class AuthenticationError(FilamentError):
    """401: no token, a wrong, expired or revoked token, or a wrong password."""


class PermissionDenied(FilamentError):
    """403: the caller's role does not allow this."""


class NotFound(FilamentError):
    """404: no such thing, or one the caller may not see (projects of others answer 404)."""


class Conflict(FilamentError):
    """409: the state does not allow it now (no model yet, a build that failed, ...)."""


class PayloadTooLarge(FilamentError):
    """413: over one of the server's body limits."""


class ValidationFailed(FilamentError):
    """422: the request's fields are invalid; `detail` names them."""


class RateLimited(FilamentError):
    """429: too many attempts; wait `retry_after` seconds."""


class ServiceUnavailable(FilamentError):
    """503: the server cannot reach its database or Redis right now; retry later."""


class ServerError(FilamentError):
    """Any other 5xx."""


class FilamentTimeout(Exception):
    """A wait (for a job, a model, an archive) ran past its timeout."""


class JobFailed(Exception):
    """A job the client waited for ended failed or cancelled; `job` is its last state."""

    def __init__(self, job: Any) -> None:
        self.job = job
        super().__init__(f"job {job.id} ({job.type}) {job.status}: {job.message}")


_BY_STATUS: dict[int, type[FilamentError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
    503: ServiceUnavailable,
}


def _message(detail: Any) -> str:
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(
            f"{'.'.join(str(part) for part in entry.get('loc', []))}: {entry.get('msg', entry)}"
            if isinstance(entry, dict)
            else str(entry)
            for entry in detail
        )
    return str(detail)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: not sent by Filament
        return None


def error_for(response: httpx.Response) -> FilamentError:
    """The typed error of a response with a 4xx/5xx status (its body read)."""
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        detail = response.text[:500] or response.reason_phrase
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else FilamentError)
    return kind(
        status,
        detail,
        method=response.request.method,
        url=str(response.request.url.copy_with(query=None)),
        retry_after=retry_after(response),
    )
