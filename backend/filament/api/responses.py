"""The error answers each group of routes really gives, documented once in the OpenAPI.

Every error is `{detail}`: a message, or FastAPI's list of validation errors (a 422 raised by
the code itself carries a message too, so the schema allows both)."""

from typing import Any

from pydantic import BaseModel

DESCRIPTIONS = {
    400: "The request is malformed or cannot apply to this project (the detail says why)",
    401: "Not signed in: no valid bearer token",
    403: "The caller's role, account or the server's registration mode does not allow this",
    404: "Not found, or not a member of the project",
    409: "Conflicts with the current state (the detail says which)",
    413: "The body or a file is larger than the limit",
    422: "A parameter or field is invalid",
    429: "Too many attempts: wait for the Retry-After header's seconds",
    503: "The database or Redis cannot be reached right now: retry after Retry-After seconds",
}


class ErrorDetail(BaseModel):
    detail: str | list[dict[str, Any]]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The given statuses, and 503, which any route answers while a dependency is down."""
    return {
        code: {"model": ErrorDetail, "description": DESCRIPTIONS[code]} for code in (*codes, 503)
    }


AUTH = errors(400, 401, 403, 409, 422, 429)
SIGNED_IN = errors(400, 401, 404, 409, 422, 429)
PROJECT = errors(400, 401, 403, 404, 409, 422)
MEMBERS = errors(400, 401, 403, 404, 409, 422, 429)
PROJECT_UPLOAD = errors(400, 401, 403, 404, 409, 413, 422)
DOWNLOAD = errors(401, 404, 409, 422)
ADMIN = errors(400, 401, 403, 404, 409, 422)
PUBLIC = errors(422)
# an invitation's link: read without signing in, accepted by the invited account
INVITATION_LINK = errors(401, 403, 404, 409, 422)
