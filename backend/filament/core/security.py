"""Password hashing (argon2), JWT access tokens and personal API tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "fil_"

_password_hash = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _password_hash.verify(password, password_hash)


def create_access_token(user_id: int, secret: str, minutes: int) -> str:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return jwt.encode({"sub": str(user_id), "exp": expires}, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> int | None:
    """The user id in a valid, unexpired token; None otherwise."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM])
        return int(payload["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def create_download_token(project_id: int, version: int, secret: str, seconds: int) -> str:
    """A signed, expiring ticket for one model archive (see /models/{version}/download-link)."""
    expires = datetime.now(UTC) + timedelta(seconds=seconds)
    claims = {"sub": "download", "project": project_id, "version": version, "exp": expires}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_download_token(token: str, secret: str) -> tuple[int, int] | None:
    """(project id, version) of a valid, unexpired download ticket; None otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
        if claims.get("sub") != "download":
            return None
        return int(claims["project"]), int(claims["version"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def new_api_token() -> tuple[str, str]:
    """A fresh personal API token and the hash we store (the token itself is shown once)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
