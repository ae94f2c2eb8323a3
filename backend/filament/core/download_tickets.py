"""One-time download tickets for model archives (a browser saves a large archive straight to
disk with a plain link, no Authorization header).

A ticket is a random string naming (user, project, version, archive variant) in Redis for
TICKET_SECONDS. It is
consumed by its first use (GETDEL), and the user's membership is checked again then: a ticket
that reaches an access log (it travels in the query string) is already spent, and one issued
before the user was removed from the project downloads nothing."""

import hashlib
import json
import secrets
from typing import cast

from redis import Redis

TICKET_SECONDS = 60


def _key(ticket: str) -> str:
    # only the hash is stored: reading Redis does not give usable tickets
    return "download:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def issue(redis: Redis, user_id: int, project_id: int, version: int, variant: str = "all") -> str:
    """`variant`: the archive's (`all`, `onnx`, `onnx-int8`, ...)."""
    ticket = secrets.token_urlsafe(32)
    claims = {"user": user_id, "project": project_id, "version": version, "variant": variant}
    redis.set(_key(ticket), json.dumps(claims), ex=TICKET_SECONDS)
    return ticket


def redeem(redis: Redis, ticket: str) -> tuple[int, int, int, str] | None:
    """(user id, project id, version, variant) of an unused, unexpired ticket, which is now
    spent."""
    if not ticket or len(ticket) > 100:
        return None
    raw = redis.getdel(_key(ticket))
    if raw is None:
        return None
    claims = json.loads(cast(bytes, raw))
    variant = str(claims.get("variant", "all"))  # tickets issued before variants
    return int(claims["user"]), int(claims["project"]), int(claims["version"]), variant
