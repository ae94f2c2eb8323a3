"""A delivery's life: pending → an attempt → delivered (a 2xx), or pending again after the next
wait of FILAMENT_WEBHOOK_RETRY_SECONDS, or failed once every attempt failed.

The row is the truth; the worker's job (`filament_worker.webhooks`) only wakes it up. An
attempt is claimed by raising `attempts` from the value read, in one conditional UPDATE: of two
jobs woken for the same attempt (a wake-up asked twice, a worker killed and its job run
again), one sends and the other finds nothing to do. A worker that dies after claiming leaves
the row pending and due: the reconciler wakes it for the next attempt."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select, update

from filament.core.clock import as_utc
from filament.db.models import (
    PING_EVENT,
    DeliveryState,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from filament.db.session import session_scope
from filament.webhooks.events import envelope

EARLY = timedelta(seconds=5)  # clocks of arq's host and the database's may differ this much
ERROR_CHARS = 300


@dataclass(frozen=True)
class Claimed:
    """An attempt this worker makes: everything it sends."""

    delivery_id: int
    number: int  # 1 for the first attempt
    url: str
    secret: str
    event: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(delivery_id: int, max_attempts: int) -> Claimed | None:
    """The delivery's next attempt, if it is pending and due and nobody took it first. One
    whose attempts are used up (their workers died before recording them) fails instead."""
    with session_scope() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None or row.state != DeliveryState.pending:
            return None
        if row.next_attempt_at is not None and as_utc(row.next_attempt_at) > utcnow() + EARLY:
            return None  # a stale wake-up: the attempt's own is deferred to its time
        hook = session.get(Webhook, row.webhook_id)
        if hook is None:
            return None
        if not hook.active and row.event != PING_EVENT:
            _end(session, row, DeliveryState.failed, error="the webhook was disabled")
            return None
        if row.attempts >= max_attempts:
            _end(session, row, DeliveryState.failed, error=row.error or "no attempt left")
            return None
        number = row.attempts + 1  # read first: the UPDATE below changes `row` too
        taken = session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.attempts) == number - 1,
                col(WebhookDelivery.state) == DeliveryState.pending,
            )
            .values(attempts=number)
        )
        session.commit()
        if taken.rowcount != 1:
            return None
        return Claimed(delivery_id, number, hook.url, hook.secret, row.event, dict(row.payload))


def record(claimed: Claimed, outcome: Outcome, waits: list[float]) -> float | None:
    """Store the attempt's outcome; the seconds until the next attempt, or None when the
    delivery has ended (delivered, or failed after 1 + len(waits) attempts)."""
    with session_scope() as session:
        row = session.get(WebhookDelivery, claimed.delivery_id)
        if row is None or row.state != DeliveryState.pending:
            return None
        now = utcnow()
        entry = {
            "at": now.isoformat(),
            "status_code": outcome.status_code,
            "error": _short(outcome.error),
            "seconds": round(outcome.seconds, 3),
        }
        row.attempt_log = [*row.attempt_log, entry]
        row.status_code, row.error = outcome.status_code, _short(outcome.error)
        if outcome.delivered:
            _end(session, row, DeliveryState.delivered, delivered_at=now)
            return None
        if claimed.number > len(waits):
            _end(session, row, DeliveryState.failed)
            return None
        wait = float(waits[claimed.number - 1])
        row.next_attempt_at = now + timedelta(seconds=wait)
        session.add(row)
        session.commit()
        return wait


def _end(session: Session, row: WebhookDelivery, state: DeliveryState, **fields: Any) -> None:
    row.state, row.next_attempt_at = state, None
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)
    session.commit()


def _short(error: str | None) -> str | None:
    if error is None or len(error) <= ERROR_CHARS:
        return error
    return error[: ERROR_CHARS - 1] + "…"


def due(settle: timedelta, limit: int = 1000) -> list[tuple[int, int]]:
    """Pending deliveries due for at least `settle` (their wake-up should have run by now):
    (id, attempts made) for the reconciler, oldest first."""
    with session_scope() as session:
        rows = session.exec(
            select(WebhookDelivery.id, WebhookDelivery.attempts)
            .where(
                col(WebhookDelivery.state) == DeliveryState.pending,
                col(WebhookDelivery.next_attempt_at) <= utcnow() - settle,
            )
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
        ).all()
    return [(delivery_id or 0, attempts) for delivery_id, attempts in rows]


def ping(hook: Webhook) -> WebhookDelivery:
    """An owner's test: a `ping` delivery to this webhook, whatever it subscribes to."""
    data = {"webhook_id": hook.id, "url": hook.url, "events": list(hook.events)}
    return WebhookDelivery(
        webhook_id=hook.id or 0,
        event=PING_EVENT,
        payload=envelope(hook.project_id, PING_EVENT, data),
    )


def again(delivery: WebhookDelivery) -> WebhookDelivery:
    """A redelivery: a new delivery of the same payload (same event id), from attempt one."""
    return WebhookDelivery(
        webhook_id=delivery.webhook_id, event=delivery.event, payload=dict(delivery.payload)
    )
