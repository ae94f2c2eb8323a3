"""The webhook delivery job: claim the delivery's next attempt (`filament.webhooks.deliveries`),
check the target again (its name may resolve elsewhere now), POST the signed payload to the
checked address, store the outcome, and wake the next attempt after its wait.

The POST follows no redirect (a 3xx is a failed attempt), reads no answer body, uses no proxy
from the environment (it would connect elsewhere than the checked address), and gives up after
FILAMENT_WEBHOOK_TIMEOUT_SECONDS."""

import logging
import time
from typing import Any

import httpx
from filament import __version__, jobs
from filament.core.settings import Settings, get_settings
from filament.webhooks import deliveries, hosts, signing
from filament.webhooks.events import job_id

from filament_worker.common import in_thread

log = logging.getLogger("filament.worker")


async def deliver_webhook(ctx: dict[str, Any], delivery_id: int) -> None:
    settings = get_settings()
    waits = settings.webhook_retry_seconds
    claimed = await in_thread(deliveries.claim, delivery_id, len(waits) + 1)
    if claimed is None:  # ended, not due, or another job took this attempt
        return
    try:
        outcome = await attempt(claimed, settings)
    except Exception:  # the attempt failed, not the delivery: it is retried like any other
        log.exception("webhook delivery %s: attempt %s failed", delivery_id, claimed.number)
        outcome = deliveries.Outcome(None, "an unexpected error in the worker", 0.0)
    wait = await in_thread(deliveries.record, claimed, outcome, waits)
    if wait is not None:
        await jobs.enqueue(
            ctx["redis"],
            jobs.DELIVER_WEBHOOK,
            delivery_id,
            job_id=job_id(delivery_id, claimed.number),
            defer_by=wait,
        )


async def attempt(claimed: deliveries.Claimed, settings: Settings) -> deliveries.Outcome:
    started = time.monotonic()

    def outcome(status_code: int | None, error: str | None) -> deliveries.Outcome:
        return deliveries.Outcome(status_code, error, time.monotonic() - started)

    try:
        target = await in_thread(hosts.resolve, claimed.url, settings.webhook_allow_private)
    except hosts.TargetRefused as refused:
        return outcome(None, str(refused))
    body = signing.body_of(claimed.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Filament-Webhooks/{__version__}",
        "Host": target.host_header,
        signing.SIGNATURE_HEADER: signing.signature(claimed.secret, int(time.time()), body),
        signing.EVENT_HEADER: claimed.event,
        signing.DELIVERY_HEADER: str(claimed.delivery_id),
    }
    # the checked address in the URL, the name in Host and in TLS (SNI and the certificate)
    address = f"[{target.address}]" if ":" in target.address else target.address
    path = (target.url.path or "/") + (f"?{target.url.query}" if target.url.query else "")
    pinned = f"{target.url.scheme}://{address}:{target.port}{path}"
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    timeout = settings.webhook_timeout_seconds
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST", pinned, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            code = response.status_code
    except httpx.TimeoutException:
        return outcome(None, f"no answer within {timeout:g} s")
    except httpx.HTTPError as error:
        return outcome(
            None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        )
    return outcome(code, None if 200 <= code < 300 else f"HTTP {code}")
