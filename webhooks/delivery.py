"""Claim due deliveries, sign them (Standard Webhooks), POST them, record what the receiver said.

Safe to run any number of times at once, like ``notifications.dispatch``: rows are claimed (``SKIP
LOCKED`` on PostgreSQL, a conditional UPDATE with a claim token everywhere) before they are sent,
and the outcome is recorded only while the row is still the caller's. Delivery is at least once: a
worker killed between the receiver's 2xx and the UPDATE leaves the row in ``sending``;
``recover_stuck`` returns it to pending and it goes out again — with the same ``webhook-id``, which
is the receiver's key for dropping a duplicate.

Each attempt is signed afresh (``webhook-timestamp`` is the attempt's time, which receivers check
against replay), over the same body and id. A 2xx is delivered; anything else — another status, a
refused or private address, a timeout — is retried after ``RETRY_SCHEDULE`` (5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 10 h: eight attempts over about 27 hours) and then failed. An endpoint whose every
attempt has failed for ``VISITDESK_WEBHOOK_DISABLE_AFTER_HOURS`` (24) is disabled, with the reason.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from availability.errors import FeedError
from availability.fetch import post

from .models import TEST_EVENT, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import disable_after

logger = logging.getLogger(__name__)
State = WebhookDelivery.State

BATCH_SIZE = 20
#: Wait before attempt n+1 after attempt n failed (the schedule Standard Webhooks' reference service uses).
RETRY_SCHEDULE = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                  timedelta(hours=5), timedelta(hours=10), timedelta(hours=10)]
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
#: A row in ``sending`` longer than this belongs to a dead worker.
STUCK_AFTER = timedelta(minutes=10)
TIME_BUDGET_SECONDS = 200
USER_AGENT = "Visitdesk-Webhooks/1"


def body_of(event: WebhookEvent) -> bytes:
    """The bytes every attempt sends and signs: ``{"type", "version", "timestamp", "data"}``."""
    payload = {"type": event.type, "version": event.version, "timestamp": event.occurred_at.isoformat(),
               "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def signed_headers(endpoint: WebhookEndpoint, *, webhook_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers; during a rotation's grace both secrets sign."""
    at = at.astimezone(UTC)  # the library reads the time as UTC
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > at:
        secrets.append(endpoint.previous_secret)
    text = body.decode()
    signatures = " ".join(Webhook(secret).sign(msg_id=webhook_id, timestamp=at, data=text) for secret in secrets)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures}


def claim(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> list[WebhookDelivery]:
    """Move up to ``limit`` due pending rows to ``sending`` for this caller only. A disabled
    endpoint's deliveries wait (test events excepted) until it is enabled again."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = (WebhookDelivery.objects.filter(state=State.PENDING, due_at__lte=now)
               .filter(Q(endpoint__is_active=True) | Q(event__type=TEST_EVENT)).order_by("due_at", "id"))
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids, state=State.PENDING).update(
            state=State.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
    return list(WebhookDelivery.objects.filter(claim_token=token, state=State.SENDING)
                .select_related("endpoint", "event").order_by("due_at", "id"))


def _finish(row: WebhookDelivery, **fields: Any) -> bool:
    fields.setdefault("updated_at", timezone.now())
    done = WebhookDelivery.objects.filter(pk=row.pk, state=State.SENDING, claim_token=row.claim_token).update(**fields)
    if not done:
        logger.warning("webhook delivery %s changed hands while being sent (recovered as stuck?)", row.pk)
    return bool(done)


def send_one(row: WebhookDelivery) -> str:
    """POST one claimed row; returns "delivered", "retry" or "failed"."""
    endpoint, event = row.endpoint, row.event
    body = body_of(event)
    started = timezone.now()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signed_headers(endpoint, webhook_id=event.webhook_id, body=body, at=started)}
    clock = time.monotonic()
    status: int | None = None
    error = ""
    try:
        result = post(endpoint.url, body=body, headers=headers, timeout=settings.VISITDESK_WEBHOOK_TIMEOUT)
        status = result.status
        if not 200 <= status < 300:
            error = f"HTTP {status} {result.reason}".strip()
    except FeedError as exc:
        error = str(exc)
    except Exception as exc:  # a bug here must fail this row, not the batch
        logger.exception("webhook delivery %s could not be sent", row.pk)
        error = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    WebhookAttempt.objects.create(delivery=row, attempted_at=started, status_code=status, error=error[:2000],
                                  duration_ms=int((time.monotonic() - clock) * 1000))
    if not error:
        _finish(row, state=State.DELIVERED, delivered_at=now, last_status_code=status, last_error="")
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        return "delivered"
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, state=State.FAILED, last_status_code=status,
                last_error=f"gave up after {row.attempts} attempts: {error}"[:4000])
        outcome = "failed"
    else:
        _finish(row, state=State.PENDING, claim_token="", last_status_code=status, last_error=error[:4000],
                due_at=now + RETRY_SCHEDULE[row.attempts - 1])
        outcome = "retry"
    _count_failure(endpoint.pk, error=error, now=now)
    return outcome


def _count_failure(endpoint_id: int, *, error: str, now: datetime) -> None:
    """Start (or continue) the endpoint's run of failures; a run as long as ``disable_after()`` disables it."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    since = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("failing_since", flat=True).first()
    if since is None or now - since < disable_after():
        return
    reason = (f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery has failed since "
              f"{since:%Y-%m-%d %H:%M} UTC. Last error: {error}"[:2000])
    if WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now):
        logger.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)


def dispatch_due(*, batch_size: int = BATCH_SIZE, time_budget: float = TIME_BUDGET_SECONDS) -> dict[str, int]:
    """Send due deliveries batch by batch until none are due or the time budget is spent."""
    stats = {"delivered": 0, "retry": 0, "failed": 0}
    deadline = time.monotonic() + time_budget
    while True:
        if time.monotonic() >= deadline:
            stats["budget_spent"] = 1
            break
        rows = claim(limit=batch_size)
        if not rows:
            break
        for row in rows:
            stats[send_one(row)] += 1
    return stats


def recover_stuck(*, older_than: timedelta = STUCK_AFTER) -> int:
    """Rows a dead worker left in ``sending`` go back to pending (they keep their webhook-id)."""
    now = timezone.now()
    stuck = WebhookDelivery.objects.filter(state=State.SENDING, claimed_at__lte=now - older_than)
    recovered = stuck.update(state=State.PENDING, claim_token="", due_at=now, updated_at=now,
                             last_error="recovered: its worker stopped while sending")
    if recovered:
        logger.warning("recovered %s webhook deliveries stuck in sending", recovered)
    return recovered
