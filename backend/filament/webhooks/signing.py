"""The signature of a delivery: `Filament-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" keyed by the webhook's secret>`. The time is signed with the body, so a
receiver that checks it within a tolerance refuses replays of old deliveries. The SDK's
`filament_client.verify_signature` checks it (docs/webhooks.md shows the few lines)."""

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "Filament-Signature"
EVENT_HEADER = "Filament-Event"
DELIVERY_HEADER = "Filament-Delivery"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_hint(secret: str) -> str:
    """Enough of the secret to tell two apart, not enough to sign with."""
    head = len(SECRET_PREFIX) + 2 if secret.startswith(SECRET_PREFIX) else 2
    return f"{secret[:head]}…{secret[-4:]}"


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes sent (and signed): compact JSON, the same for every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
