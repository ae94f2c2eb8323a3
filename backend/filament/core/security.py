"""Password hashing (argon2), JWT access tokens and personal API tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "fil_"

_password_hash = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash (an unknown email) a dummy one is checked all the same,
    so the answer takes as long whether the account exists or not."""
    if password_hash is None:
        _password_hash.verify(password, _dummy_hash())
        return False
    return _password_hash.verify(password, password_hash)


@lru_cache
def _dummy_hash() -> str:
    return _password_hash.hash(secrets.token_urlsafe(16))


def create_access_token(user_id: int, token_version: int, secret: str, minutes: int) -> str:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    claims = {"sub": str(user_id), "ver": token_version, "exp": expires}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> tuple[int, int] | None:
    """(user id, token version) of a valid, unexpired access token; None otherwise."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM])
        return int(payload["sub"]), int(payload.get("ver", 0))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


def new_api_token() -> tuple[str, str]:
    """A fresh personal API token and the hash we store (the token itself is shown once)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def new_link_token() -> tuple[str, str]:
    """A random token for a link (an invitation) and the hash we store: 256 bits, so the
    hash need not be slow, and a lookup by hash reveals nothing through its timing."""
    token = secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    """The SHA-256 of a token we hand out (API tokens, invitation links): what we store."""
    return hashlib.sha256(token.encode()).hexdigest()
