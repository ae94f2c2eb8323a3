"""Checking that a webhook delivery came from Filament (docs/webhooks.md).

Filament signs every delivery with the webhook's secret: the `Filament-Signature` header is
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Verify the raw body as received,
before parsing it: re-serialized JSON would not match."""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Filament-Signature"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Whether `header` (the Filament-Signature value) signs `body` with `secret` and was made
    within `tolerance` seconds of `now` (default: the current time), which refuses replays of
    old deliveries. Never raises on a malformed header: it is simply not valid."""
    if not header:
        return False
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    # every v1 entry is tried: a header may carry more than one
    return any(hmac.compare_digest(expected.hexdigest(), given) for given in fields.get("v1", []))
