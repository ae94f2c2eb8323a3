"""Errors the domain raises, each with the HTTP status the API answers it with.

Domain code (labeling, models, uploads, jobs) raises these instead of FastAPI's HTTPException,
so it stays usable from the worker and the CLI; the API maps every one of them to a response
`{"detail": message}` in one exception handler (`filament.api.app`)."""

from http import HTTPStatus


class DomainError(Exception):
    """A refusal a caller can act on; `str(error)` is the message shown to them, `headers`
    go with the answer (a Retry-After, say)."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    headers: dict[str, str] | None = None


class Forbidden(DomainError):
    """The caller may not do this (their role or account, not the input)."""

    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT


class Unprocessable(DomainError):
    """Well-formed input the project cannot take (an unknown label, a wrong count)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY  # 422


class BadInput(DomainError):
    """Input refused on sight (a corrupt image, a URL outside the allowed hosts)."""

    status = HTTPStatus.BAD_REQUEST


class TooManyRequests(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS
