"""A project's webhooks (owners only): subscribe a URL to events, see each delivery with its
status codes, send a test, redeliver (docs/webhooks.md)."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from filament.api.deps import ProjectOwner, SessionDep, SettingsDep
from filament.api.params import DeliveryId, Offset, WebhookId
from filament.db.models import (
    Page,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
    WebhookUpdate,
)
from filament.webhooks import hooks

router = APIRouter(prefix="/projects/{project_id}/webhooks", tags=["webhooks"])


@router.get("")
def list_webhooks(owner: ProjectOwner, session: SessionDep) -> Page[WebhookPublic]:
    data = hooks.listing(session, owner.id)
    return Page(data=data, count=len(data))


@router.post("", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookCreate, owner: ProjectOwner, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Subscribe a URL to events. Its host must resolve to public addresses only (422 says
    why not) unless FILAMENT_WEBHOOK_ALLOW_PRIVATE is set. The answer holds the signing secret,
    shown only here (and on rotation)."""
    assert owner.user.id is not None
    return hooks.create(session, owner.id, owner.user.id, body, settings.webhook_allow_private)


@router.patch("/{webhook_id}")
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    owner: ProjectOwner,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookPublic:
    """Change the URL or the events, or enable/disable (a disabled webhook gets nothing, and
    its pending deliveries fail)."""
    hook = hooks.get_hook(session, owner.id, webhook_id)
    return hooks.public(hooks.change(session, hook, body, settings.webhook_allow_private))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: WebhookId, owner: ProjectOwner, session: SessionDep) -> None:
    """The webhook and its delivery log."""
    assert owner.user.id is not None
    hooks.delete(session, hooks.get_hook(session, owner.id, webhook_id), owner.user.id)


@router.post("/{webhook_id}/rotate-secret")
def rotate_secret(
    webhook_id: WebhookId, owner: ProjectOwner, session: SessionDep
) -> WebhookCreated:
    """A new signing secret, shown only in this answer; the old one stops at once."""
    return hooks.rotate(session, hooks.get_hook(session, owner.id, webhook_id))


@router.get("/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: WebhookId,
    owner: ProjectOwner,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Page[WebhookDeliveryPublic]:
    """The delivery log, newest first: state, attempts, and each attempt's status code."""
    hook = hooks.get_hook(session, owner.id, webhook_id)
    data, count = hooks.delivery_page(session, hook, limit, offset)
    return Page(data=data, count=count)


@router.post("/{webhook_id}/test", status_code=status.HTTP_202_ACCEPTED)
def test_webhook(
    webhook_id: WebhookId, owner: ProjectOwner, session: SessionDep
) -> WebhookDeliveryPublic:
    """Send a `ping` event now (also to a disabled webhook); the log shows how it went."""
    return hooks.send_ping(session, hooks.get_hook(session, owner.id, webhook_id))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED
)
def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, owner: ProjectOwner, session: SessionDep
) -> WebhookDeliveryPublic:
    """Send a delivery's payload again, as a new delivery (the payload's id stays the same, so
    a receiver can tell it from a new event)."""
    hook = hooks.get_hook(session, owner.id, webhook_id)
    return hooks.redeliver(session, hook, delivery_id)
