"""Events, made where they happen: `emit` adds one delivery row per subscribed active webhook
of the project to the caller's transaction, and once that transaction commits, wakes the
worker up for each (an arq job). A change that rolls back sends nothing; a wake-up that Redis
loses (or never got) is asked for again by the worker's reconciler from the pending rows.

The payload is `{id, event, created_at, project_id, data}`: `id` names the event (the same on
every webhook it goes to and on a redelivery), `data` holds ids and the public fields of what
happened in this project (what its members can read through the API), never secrets."""

import functools
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from filament import jobs
from filament.core.settings import get_settings
from filament.db.models import (
    Annotation,
    Item,
    Job,
    ModelVersion,
    Webhook,
    WebhookDelivery,
    utcnow,
)

log = logging.getLogger("filament.webhooks")
_WAKE = "filament.webhooks.wake"  # session.info: deliveries to wake once the session commits


def emit(session: Session, project_id: int, event: str, data: dict[str, Any]) -> int:
    """One event of the project, delivered to every active webhook subscribed to it once the
    caller commits. Returns the number of deliveries made (0 without subscribers: one query)."""
    return emit_many(session, project_id, event, [data])


def emit_many(session: Session, project_id: int, event: str, data: Iterable[dict[str, Any]]) -> int:
    """`emit` for several events of one kind (the annotations of one request, say)."""
    hooks = [hook for hook in _active_hooks(session, project_id) if event in hook.events]
    if not hooks:
        return 0
    rows = [
        WebhookDelivery(webhook_id=hook.id or 0, event=event, payload=payload)
        for payload in (envelope(project_id, event, entry) for entry in data)
        for hook in hooks
    ]
    deliver_after_commit(session, rows)
    return len(rows)


def envelope(project_id: int, event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "event": event,
        "created_at": utcnow().isoformat(),
        "project_id": project_id,
        "data": data,
    }


def deliver_after_commit(session: Session, rows: list[WebhookDelivery]) -> None:
    """Add the deliveries to the session's transaction; the worker is woken for them after
    it commits."""
    if not rows:
        return
    session.add_all(rows)
    session.flush()  # their ids
    if _WAKE not in session.info:
        session.info[_WAKE] = []
        sa_event.listen(session, "after_commit", _after_commit)
        sa_event.listen(session, "after_rollback", _after_rollback)
    session.info[_WAKE].extend(row.id for row in rows)


def _active_hooks(session: Session, project_id: int) -> list[Webhook]:
    return list(
        session.exec(
            select(Webhook).where(Webhook.project_id == project_id, col(Webhook.active))
        ).all()
    )


def _after_commit(session: Session) -> None:
    ids, session.info[_WAKE] = session.info[_WAKE], []
    wake(ids)


def _after_rollback(session: Session) -> None:
    session.info[_WAKE] = []


def job_id(delivery_id: int, attempts: int) -> str:
    """The arq job that makes attempt `attempts + 1` of a delivery: one id per attempt, so a
    second wake-up of the same attempt is refused by arq and the next attempt's is not."""
    return f"{jobs.DELIVER_WEBHOOK}:{delivery_id}:{attempts}"


@functools.cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def wake(delivery_ids: list[int]) -> None:
    """Ask the worker for the first attempt of each delivery. A failure is logged, not raised:
    the change is committed already, and the reconciler asks again for due pending rows."""
    url = get_settings().redis_url
    if not delivery_ids or not url:
        return
    try:
        for delivery_id in delivery_ids:
            jobs.enqueue_sync(
                _redis(url), jobs.DELIVER_WEBHOOK, delivery_id, job_id=job_id(delivery_id, 0)
            )
    except Exception as error:
        log.warning(
            "could not wake the worker for %s webhook deliveries (%s); the reconciler will",
            len(delivery_ids),
            error,
        )


# --- what each event's `data` holds --------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def annotation_data(annotation: Annotation, item: Item, replaced: bool) -> dict[str, Any]:
    return {
        "annotation_id": annotation.id,
        "item_id": item.id,
        "item_name": item.name,
        "dataset_id": item.dataset_id,
        "user_id": annotation.user_id,
        "labels": list(annotation.labels),
        "source": str(annotation.source),
        "replaced": replaced,  # the user's earlier annotation of the item was changed
        "created_at": _time(annotation.created_at),
    }


def model_data(version: ModelVersion, metric_name: str, metric: float | None) -> dict[str, Any]:
    return {
        "version": version.version,
        "kind": str(version.kind),
        "backbone": version.backbone,
        "base_version": version.base_version,
        "label_count": version.label_count,
        "metric_name": metric_name,
        "metric": metric,
        "device": version.device,
        "created_at": _time(version.created_at),
    }


def job_data(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "type": str(job.type),
        "status": str(job.status),
        "message": job.message,
        "progress": job.progress,
        "result": job.result,
        "device": job.device,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
    }


def review_data(
    user_id: int, model_version: int | None, counts: dict[str, int], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """A suggestions review: who, on which model's suggestions, the counts, and per item its
    outcome (`accepted`, `corrected`, `rejected`) with the labels recorded."""
    return {"user_id": user_id, "model_version": model_version, **counts, "items": items}
