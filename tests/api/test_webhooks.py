"""Webhooks end to end: the real API, a real arq worker on the test Redis, and a real receiver
(an HTTP server on 127.0.0.1 in a thread, with FILAMENT_WEBHOOK_ALLOW_PRIVATE on)."""

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool
from filament_client import verify_signature

from tests.api.test_loop import label_of, synthetic_rows, text_project
from tests.conftest import add_member, register

EVENTS = ["annotation.created", "model.activated", "job.finished", "suggestions.reviewed"]


class Receiver:
    """Records every POST; answers with the next status of `answers` (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?src=filament"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def client(env, monkeypatch):  # type: ignore[no-untyped-def]
    """The app with a receiver on loopback allowed and short waits between attempts."""
    from fastapi.testclient import TestClient
    from filament.api.app import create_app
    from filament.core.settings import get_settings

    monkeypatch.setenv("FILAMENT_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("FILAMENT_WEBHOOK_RETRY_SECONDS", "[0.2, 0.4, 0.4]")
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client


def _project(client, owner) -> int:  # type: ignore[no-untyped-def]
    made = client.post(
        "/api/v1/projects",
        headers=owner,
        json={"name": "P", "task": "text_classification", "labels": ["negative", "positive"]},
    )
    return int(made.json()["id"])


def _hook(client, owner, pid, url, events=EVENTS, **body):  # type: ignore[no-untyped-def]
    made = client.post(
        f"/api/v1/projects/{pid}/webhooks",
        headers=owner,
        json={"url": url, "events": events, **body},
    )
    assert made.status_code == 201, made.text
    return made.json()


def _deliveries(client, owner, pid, wid):  # type: ignore[no-untyped-def]
    page = client.get(f"/api/v1/projects/{pid}/webhooks/{wid}/deliveries", headers=owner)
    assert page.status_code == 200, page.text
    return page.json()


def test_retries_until_a_2xx_and_the_log_shows_each_attempt(client, owner, run_jobs, receiver):
    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    # shown once: the list shows a hint
    listed = client.get(f"/api/v1/projects/{pid}/webhooks", headers=owner).json()["data"]
    assert "secret" not in listed[0] and listed[0]["secret_hint"] != secret
    assert listed[0]["secret_hint"].endswith(secret[-4:])

    receiver.answers = [500, 500]
    sent = client.post(f"/api/v1/projects/{pid}/webhooks/{hook['id']}/test", headers=owner)
    assert sent.status_code == 202 and sent.json()["state"] == "pending"
    run_jobs()  # the burst worker waits out the deferred retries
    assert len(receiver.received) == 3
    (delivery,) = _deliveries(client, owner, pid, hook["id"])["data"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert delivery["status_code"] == 200 and delivery["error"] is None
    assert delivery["delivered_at"] is not None and delivery["event"] == "ping"

    for request in receiver.received:
        headers = request["headers"]
        assert verify_signature(secret, headers["Filament-Signature"], request["body"])
        assert not verify_signature("whsec_another", headers["Filament-Signature"], request["body"])
        assert not verify_signature(secret, headers["Filament-Signature"], request["body"] + b" ")
        assert headers["Filament-Event"] == "ping"
        assert headers["Filament-Delivery"] == str(delivery["id"])
        assert request["path"] == "/hook?src=filament"
    payload = json.loads(receiver.received[0]["body"])
    assert payload["event"] == "ping" and payload["project_id"] == pid
    assert payload["id"] == delivery["event_id"] and payload["data"]["webhook_id"] == hook["id"]
    assert secret not in receiver.received[0]["body"].decode()
    # replays are refused by their signed time
    signature = receiver.received[0]["headers"]["Filament-Signature"]
    timestamp = int(signature.split(",")[0][2:])
    body = receiver.received[0]["body"]
    assert verify_signature(secret, signature, body, now=timestamp + 299)
    assert not verify_signature(secret, signature, body, now=timestamp + 301)

    # a redelivery is a new delivery of the same event
    again = client.post(
        f"/api/v1/projects/{pid}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        headers=owner,
    )
    assert again.status_code == 202 and again.json()["event_id"] == delivery["event_id"]
    run_jobs()
    log = _deliveries(client, owner, pid, hook["id"])
    assert log["count"] == 2 and log["data"][0]["id"] == again.json()["id"]  # newest first
    assert log["data"][0]["state"] == "delivered" and len(receiver.received) == 4
    assert json.loads(receiver.received[-1]["body"])["id"] == delivery["event_id"]


def test_a_delivery_fails_after_its_last_attempt(client, owner, run_jobs, receiver):
    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    receiver.answers = [503] * 10
    client.post(f"/api/v1/projects/{pid}/webhooks/{hook['id']}/test", headers=owner)
    run_jobs()
    (delivery,) = _deliveries(client, owner, pid, hook["id"])["data"]
    # three waits configured: four attempts
    assert delivery["state"] == "failed" and delivery["attempts"] == 4
    assert delivery["status_code"] == 503 and delivery["error"] == "HTTP 503"
    assert delivery["next_attempt_at"] is None and len(receiver.received) == 4


def test_private_hosts_are_refused_unless_allowed(client, owner, monkeypatch):
    from filament.core.settings import get_settings

    pid = _project(client, owner)
    monkeypatch.setenv("FILAMENT_WEBHOOK_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()
    url = f"/api/v1/projects/{pid}/webhooks"
    for target, why in (
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://localhost/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://192.168.0.10/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/x", "loopback"),
        ("http://0.0.0.0/x", "unspecified"),
    ):
        refused = client.post(url, headers=owner, json={"url": target, "events": EVENTS})
        assert refused.status_code == 422, target
        assert (
            why in refused.json()["detail"]
            and "FILAMENT_WEBHOOK_ALLOW_PRIVATE" in (refused.json()["detail"])
        )
    for target in ("ftp://example.com/x", "http://user:pw@example.com/x", "not a url"):
        refused = client.post(url, headers=owner, json={"url": target, "events": EVENTS})
        assert refused.status_code == 422, target
    assert client.get(url, headers=owner).json()["count"] == 0
    monkeypatch.setenv("FILAMENT_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    assert _hook(client, owner, pid, "http://127.0.0.1:9/x")["url"] == "http://127.0.0.1:9/x"


def test_the_target_is_checked_again_at_delivery(client, owner, run_jobs, receiver, monkeypatch):
    """A webhook saved while the setting allowed it (or a name that resolves elsewhere now) is
    refused at each attempt, and nothing reaches the address."""
    from filament.core.settings import get_settings

    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    monkeypatch.setenv("FILAMENT_WEBHOOK_ALLOW_PRIVATE", "false")
    monkeypatch.setenv("FILAMENT_WEBHOOK_RETRY_SECONDS", "[0.1]")
    get_settings.cache_clear()
    client.post(f"/api/v1/projects/{pid}/webhooks/{hook['id']}/test", headers=owner)
    run_jobs()
    (delivery,) = _deliveries(client, owner, pid, hook["id"])["data"]
    assert delivery["state"] == "failed" and delivery["attempts"] == 2
    assert delivery["status_code"] is None and "loopback" in delivery["error"]
    assert receiver.received == []


def test_events_fire_for_a_finished_job_a_label_an_activated_model_and_a_review(
    client, owner, run_jobs, receiver
):
    pid = text_project(client, owner, synthetic_rows(12))  # its ingest job is queued
    hook = _hook(client, owner, pid, receiver.url)
    other = _hook(client, owner, pid, receiver.url, events=["suggestions.reviewed"])
    run_jobs()
    finished = [json.loads(r["body"]) for r in receiver.received]
    assert finished and {p["event"] for p in finished} == {"job.finished"}
    assert {p["data"]["type"] for p in finished} >= {"embed"}
    assert all(p["data"]["status"] == "done" and p["project_id"] == pid for p in finished)

    receiver.received.clear()
    items = client.get(f"/api/v1/projects/{pid}/items?limit=100", headers=owner).json()["data"]
    for item in items[:6]:
        answer = client.post(
            f"/api/v1/projects/{pid}/items/{item['id']}/annotations",
            headers=owner,
            json={"labels": [label_of(item["name"])]},
        )
        assert answer.status_code == 201
    run_jobs()  # the deliveries, and the head training that activates a model
    payloads = [json.loads(r["body"]) for r in receiver.received]
    labeled = [p for p in payloads if p["event"] == "annotation.created"]
    assert len(labeled) == 6
    # the worker delivers several at once: they arrive in any order
    assert {p["data"]["item_id"] for p in labeled} == {item["id"] for item in items[:6]}
    first = next(p["data"] for p in labeled if p["data"]["item_id"] == items[0]["id"])
    assert first["labels"] == [label_of(items[0]["name"])]
    assert first["source"] == "human" and first["replaced"] is False and first["annotation_id"]
    activated = [p for p in payloads if p["event"] == "model.activated"]
    assert activated and activated[-1]["data"]["version"] >= 1
    assert activated[-1]["data"]["label_count"] == 6 and activated[-1]["data"]["kind"] == "head"
    assert {r["headers"]["Filament-Event"] for r in receiver.received} == {
        "annotation.created",
        "model.activated",
    }

    receiver.received.clear()
    review = client.post(
        f"/api/v1/projects/{pid}/suggestions/review",
        headers=owner,
        json={"items": [{"item_id": items[7]["id"], "accept": False}]},
    )
    assert review.status_code == 200
    run_jobs()
    reviewed = [json.loads(r["body"]) for r in receiver.received]
    assert [p["event"] for p in reviewed] == ["suggestions.reviewed"] * 2  # both webhooks
    assert reviewed[0]["data"]["rejected"] == 1 and reviewed[0]["data"]["items"] == [
        {"item_id": items[7]["id"], "outcome": "rejected", "labels": None}
    ]
    assert len(_deliveries(client, owner, pid, other["id"])["data"]) == 1

    # disabled: nothing more is made for it
    patched = client.patch(
        f"/api/v1/projects/{pid}/webhooks/{hook['id']}", headers=owner, json={"active": False}
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    before = _deliveries(client, owner, pid, hook["id"])["count"]
    client.post(
        f"/api/v1/projects/{pid}/items/{items[8]['id']}/annotations",
        headers=owner,
        json={"labels": ["positive"]},
    )
    assert _deliveries(client, owner, pid, hook["id"])["count"] == before


def test_only_owners_manage_webhooks_and_others_ids_are_not_found(client, owner, receiver):
    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    base = f"/api/v1/projects/{pid}/webhooks"
    calls = [
        ("get", base, None),
        ("post", base, {"url": receiver.url, "events": EVENTS}),
        ("patch", f"{base}/{hook['id']}", {"active": False}),
        ("delete", f"{base}/{hook['id']}", None),
        ("get", f"{base}/{hook['id']}/deliveries", None),
        ("post", f"{base}/{hook['id']}/test", None),
        ("post", f"{base}/{hook['id']}/rotate-secret", None),
    ]
    for role in ("annotator", "reviewer", "viewer"):
        member = add_member(client, owner, pid, f"{role}@example.com", role)
        for method, url, body in calls:
            answer = client.request(method, url, headers=member, json=body)
            assert answer.status_code == 403, (role, method, url)
    stranger = register(client, "stranger@example.com")
    for method, url, body in calls:
        assert client.request(method, url, headers=stranger, json=body).status_code == 404
    # another owner's project cannot reach this webhook by its id
    theirs = _project(client, stranger)
    elsewhere = f"/api/v1/projects/{theirs}/webhooks/{hook['id']}"
    assert client.patch(elsewhere, headers=stranger, json={"active": False}).status_code == 404
    assert client.get(f"{elsewhere}/deliveries", headers=stranger).status_code == 404
    assert client.delete(elsewhere, headers=stranger).status_code == 404

    rotated = client.post(f"{base}/{hook['id']}/rotate-secret", headers=owner).json()
    assert rotated["secret"] != hook["secret"]
    assert client.delete(f"{base}/{hook['id']}", headers=owner).status_code == 204
    assert client.get(base, headers=owner).json()["count"] == 0
    actions = [
        entry["action"]
        for entry in client.get(f"/api/v1/projects/{pid}/activity", headers=owner).json()["data"]
    ]
    assert "webhook_created" in actions and "webhook_deleted" in actions


def test_the_reconciler_wakes_a_due_delivery_redis_lost(
    client, owner, run_jobs, receiver, redis_url, monkeypatch
):
    from filament.db.models import WebhookDelivery, utcnow
    from filament.db.session import session_scope
    from filament_worker import reconcile

    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    sent = client.post(f"/api/v1/projects/{pid}/webhooks/{hook['id']}/test", headers=owner)
    with session_scope() as session:  # due for a while
        row = session.get(WebhookDelivery, sent.json()["id"])
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(minutes=5)
        session.add(row)
        session.commit()

    async def lose_everything_then_reconcile() -> dict[str, list[int]]:
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            await redis.flushall()  # the wake-up is gone
            return await reconcile.reconcile_once(redis)
        finally:
            await redis.aclose()

    asked = asyncio.run(lose_everything_then_reconcile())
    assert asked["webhooks"] == [sent.json()["id"]]
    run_jobs()
    (delivery,) = _deliveries(client, owner, pid, hook["id"])["data"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 1
    assert len(receiver.received) == 1
    assert asyncio.run(lose_everything_then_reconcile())["webhooks"] == []


def test_a_delivery_whose_attempts_were_used_up_fails_without_sending(
    client, owner, run_jobs, receiver
):
    """Workers that died mid-attempt used the attempts up: the next wake-up ends it."""
    from filament.db.models import WebhookDelivery
    from filament.db.session import session_scope

    pid = _project(client, owner)
    hook = _hook(client, owner, pid, receiver.url)
    with session_scope() as session:
        row = WebhookDelivery(webhook_id=hook["id"], event="ping", payload={}, attempts=4)
        session.add(row)
        session.commit()
        assert row.id is not None
        delivery_id = row.id
    from filament.webhooks.events import wake

    wake([delivery_id])
    run_jobs()
    (delivery,) = _deliveries(client, owner, pid, hook["id"])["data"]
    assert delivery["state"] == "failed" and delivery["attempts"] == 4
    assert delivery["error"] == "no attempt left" and receiver.received == []
