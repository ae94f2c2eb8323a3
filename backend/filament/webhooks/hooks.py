"""A project's webhooks as its owners manage them, and their delivery log. The secret is shown
whole when a webhook is made and when it is rotated; every other answer shows a hint."""

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from filament import activity
from filament.core.errors import Conflict, NotFound
from filament.db.models import (
    ActivityAction,
    DeliveryAttempt,
    DeliveryState,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookUpdate,
)
from filament.webhooks import deliveries, hosts, signing
from filament.webhooks.events import deliver_after_commit

MAX_WEBHOOKS = 20  # per project: every event is sent to each of them


def public(hook: Webhook) -> WebhookPublic:
    return WebhookPublic(
        **hook.model_dump(exclude={"secret", "project_id"}),
        secret_hint=signing.secret_hint(hook.secret),
    )


def created(hook: Webhook) -> WebhookCreated:
    return WebhookCreated(**public(hook).model_dump(), secret=hook.secret)


def delivery_public(row: WebhookDelivery) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=row.id or 0,
        webhook_id=row.webhook_id,
        event=row.event,
        event_id=str(row.payload.get("id", "")),
        state=DeliveryState(row.state),
        attempts=row.attempts,
        status_code=row.status_code,
        error=row.error,
        attempt_log=[DeliveryAttempt.model_validate(entry) for entry in row.attempt_log],
        payload=row.payload,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
    )


def listing(session: Session, project_id: int) -> list[WebhookPublic]:
    rows = session.exec(
        select(Webhook).where(Webhook.project_id == project_id).order_by(col(Webhook.id))
    ).all()
    return [public(row) for row in rows]


def get_hook(session: Session, project_id: int, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project_id:
        raise NotFound("Webhook not found")
    return hook


def create(
    session: Session, project_id: int, user_id: int, body: WebhookCreate, allow_private: bool
) -> WebhookCreated:
    url = body.url.strip()
    hosts.resolve(url, allow_private)  # refused with the reason (422)
    count = session.exec(select(func.count()).where(Webhook.project_id == project_id)).one()
    if count >= MAX_WEBHOOKS:
        raise Conflict(f"A project has at most {MAX_WEBHOOKS} webhooks")
    hook = Webhook(
        project_id=project_id,
        url=url,
        secret=body.secret or signing.new_secret(),
        events=_events(body.events),
        active=body.active,
        created_by=user_id,
    )
    session.add(hook)
    session.flush()
    activity.record(
        session,
        project_id,
        user_id,
        ActivityAction.webhook_created,
        ("webhook", hook.id),
        url=hook.url,
        events=hook.events,
    )
    session.commit()
    return created(hook)


def change(session: Session, hook: Webhook, body: WebhookUpdate, allow_private: bool) -> Webhook:
    if body.url is not None:
        hook.url = body.url.strip()
        hosts.resolve(hook.url, allow_private)
    if body.events is not None:
        hook.events = _events(body.events)
    if body.active is not None:
        hook.active = body.active
    session.add(hook)
    session.commit()
    return hook


def delete(session: Session, hook: Webhook, user_id: int) -> None:
    """The webhook and its delivery log; pending deliveries are not sent."""
    activity.record(
        session,
        hook.project_id,
        user_id,
        ActivityAction.webhook_deleted,
        ("webhook", hook.id),
        url=hook.url,
    )
    session.delete(hook)
    session.commit()


def rotate(session: Session, hook: Webhook) -> WebhookCreated:
    """A new secret, shown this once; deliveries from now on are signed with it."""
    hook.secret = signing.new_secret()
    session.add(hook)
    session.commit()
    return created(hook)


def delivery_page(
    session: Session, hook: Webhook, limit: int, offset: int
) -> tuple[list[WebhookDeliveryPublic], int]:
    """The webhook's deliveries, newest first, and how many it has."""
    mine = WebhookDelivery.webhook_id == hook.id
    rows = session.exec(
        select(WebhookDelivery)
        .where(mine)
        .order_by(col(WebhookDelivery.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    count = session.exec(select(func.count()).where(mine)).one()
    return [delivery_public(row) for row in rows], count


def send_ping(session: Session, hook: Webhook) -> WebhookDeliveryPublic:
    row = deliveries.ping(hook)
    deliver_after_commit(session, [row])
    session.commit()
    return delivery_public(row)


def redeliver(session: Session, hook: Webhook, delivery_id: int) -> WebhookDeliveryPublic:
    old = session.get(WebhookDelivery, delivery_id)
    if old is None or old.webhook_id != hook.id:
        raise NotFound("Delivery not found")
    row = deliveries.again(old)
    deliver_after_commit(session, [row])
    session.commit()
    return delivery_public(row)


def _events(events: Sequence[str]) -> list[str]:
    return sorted({str(event) for event in events})
