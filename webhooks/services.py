"""Writes: endpoints (create, change, rotate the secret, delete, send a test), and the observer that
turns changes of meetings and visits into events owed to endpoints.

The observer is a reconciler, like ``notifications.reconcile``: it is told *which* meetings or visits
may have changed (the after-commit signals, and beat's sweep of recent changes as a safety net) and
re-reads them, comparing the truth with what webhooks last announced (``WebhookSubject.seen``, locked
while it compares). A lost signal therefore delays an event until the sweep; a doubled one emits
nothing twice. Several changes between two looks become one event carrying the latest state.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from availability.errors import FeedError
from availability.fetch import resolve_checked
from core.errors import ValidationFailed
from events.models import Meeting, MeetingRevision, Participation
from visits.models import ProgrammeSlot, Visit

from . import payloads
from .models import TEST_EVENT, EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookSubject

#: How long the previous secret keeps signing after a rotation.
ROTATION_GRACE = timedelta(hours=24)
#: Statuses of a visit that are events of their own.
VISIT_EVENTS: dict[str, str] = {
    Visit.Status.REQUESTED: EventType.VISIT_REQUESTED,
    Visit.Status.CONFIRMED: EventType.VISIT_CONFIRMED,
    Visit.Status.CANCELLED: EventType.VISIT_CANCELLED,
}


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# --- checks ------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The endpoint's address as it will be called, or a 400 on ``url``: http(s), no credentials in
    it, and a host whose every address is public — the same rule as calendar imports
    (``availability.fetch``; ``VISITDESK_BUSY_FETCH_ALLOW_PRIVATE`` lifts it for tests and local
    development). Checked again before every delivery, so a later DNS change cannot aim it inside."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("Give the receiver's http or https address.", field="url")
    if parts.username or parts.password:
        raise ValidationFailed("Addresses with a user name or password are not supported; "
                               "the signature authenticates each delivery.", field="url")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed("The address has an invalid port.", field="url") from exc
    try:
        resolve_checked(parts.hostname, port, what="webhook")
    except FeedError as exc:
        raise ValidationFailed(str(exc), field="url") from exc
    return url


def check_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [t for t in chosen if t not in EventType.values]
    if unknown:
        raise ValidationFailed(f"Unknown event type: {', '.join(unknown)[:200]}. One of {', '.join(EventType.values)}.",
                               field="event_types")
    if not chosen:
        raise ValidationFailed("Choose at least one event type.", field="event_types")
    return chosen


# --- endpoints ----------------------------------------------------------------------------------


def endpoint_create(*, url: str, event_types: Sequence[str], description: str = "",
                    created_by: Any = None) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows ``endpoint.secret`` once)."""
    return WebhookEndpoint.objects.create(
        url=check_url(url), event_types=check_event_types(event_types), description=description,
        secret=new_secret(), created_by=created_by)


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, event_types: Sequence[str] | None = None,
                    description: str | None = None, is_active: bool | None = None) -> WebhookEndpoint:
    """Change what was given. Enabling an endpoint starts its failure count afresh; disabling it by
    hand says so in ``disabled_reason``."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = check_event_types(event_types)
    if description is not None:
        endpoint.description = description
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        endpoint.failing_since = None
        if is_active:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
        else:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "Disabled by a coordinator."
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for ``ROTATION_GRACE`` (Standard Webhooks
    sends several signatures in one header), so receivers switch without dropping a message."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + ROTATION_GRACE
    endpoint.secret = new_secret()
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Gone with its deliveries and their log (the events other endpoints received stay)."""
    endpoint.delete()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this endpoint alone, due now — also to a disabled endpoint,
    so a coordinator can see that the receiver works before enabling it again."""
    now = now or timezone.now()
    event = WebhookEvent.objects.create(webhook_id=new_webhook_id(), type=TEST_EVENT, version=payloads.VERSION,
                                        occurred_at=now, subject=f"endpoint:{endpoint.pk}",
                                        data=payloads.test_data(endpoint.pk))
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, due_at=now)
    nudge_after_commit()
    return delivery


def deliveries_retry(*, ids: Sequence[int], now: datetime | None = None) -> int:
    """Admin action: failed deliveries back to pending, due now, with a fresh count of attempts."""
    now = now or timezone.now()
    count = WebhookDelivery.objects.filter(pk__in=ids, state=WebhookDelivery.State.FAILED).update(
        state=WebhookDelivery.State.PENDING, due_at=now, attempts=0, claim_token="", updated_at=now)
    if count:
        nudge_after_commit()
    return count


def nudge_after_commit() -> None:
    from .tasks import nudge_dispatcher  # the tasks call into this module

    transaction.on_commit(nudge_dispatcher, robust=True)


# --- observing what happened --------------------------------------------------------------------


def observe(*, meeting_ids: Iterable[int] = (), visit_ids: Iterable[int] = (), now: datetime | None = None) -> int:
    """Emit the events owed for these meetings and visits (and the visits whose programme holds one of
    the meetings); returns how many events were emitted. Nothing is recorded while no endpoint exists."""
    if not WebhookEndpoint.objects.exists():
        return 0
    now = now or timezone.now()
    meetings = sorted(set(meeting_ids))
    visits = set(visit_ids) | set(ProgrammeSlot.objects.filter(meeting_id__in=meetings)
                                  .values_list("visit_id", flat=True))
    emitted = sum(_observe_meeting(meeting_id, now) for meeting_id in meetings)
    return emitted + sum(_observe_visit(visit_id, now) for visit_id in sorted(visits))


def observe_recent(*, within: timedelta, now: datetime | None = None) -> int:
    """Beat's safety net: look again at everything changed in the last ``within`` (a signal lost to a
    broker outage or a crash after commit is caught here; what was announced already is not again)."""
    if not WebhookEndpoint.objects.exists():
        return 0
    now = now or timezone.now()
    since = now - within
    meetings = set(Meeting.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    meetings |= set(Participation.objects.filter(responded_at__gte=since).values_list("meeting_id", flat=True))
    visits = Visit.objects.filter(updated_at__gte=since).values_list("pk", flat=True)
    return observe(meeting_ids=meetings, visit_ids=visits, now=now)


def _locked_subject(kind: str, object_id: int) -> WebhookSubject:
    WebhookSubject.objects.get_or_create(kind=kind, object_id=object_id)
    return WebhookSubject.objects.select_for_update().get(kind=kind, object_id=object_id)


def _changes_since(meeting: Meeting, sequence: int | None) -> dict[str, list[str]]:
    """What changed after ``sequence`` (field → [before, after], as the update mails say it)."""
    merged: dict[str, list[str]] = {}
    revisions = MeetingRevision.objects.filter(meeting=meeting)
    if sequence is not None:
        revisions = revisions.filter(sequence__gt=sequence)
    for revision in revisions.order_by("sequence"):
        changes = revision.changes if isinstance(revision.changes, dict) else {}
        for name, pair in changes.items():
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                before = merged[name][0] if name in merged else str(pair[0])
                merged[name] = [before, str(pair[1])]
    return merged


@transaction.atomic
def _observe_meeting(meeting_id: int, now: datetime) -> int:
    subject = _locked_subject(WebhookSubject.Kind.MEETING, meeting_id)
    meeting = (Meeting.objects.select_related("room", "programme_slot")
               .prefetch_related(Prefetch("participations", Participation.objects.select_related("person")))
               .filter(pk=meeting_id).first())
    if meeting is None:
        return 0
    seen: dict[str, Any] | None = subject.seen
    participations = list(meeting.participations.all())
    answers = {str(p.person_id): p.rsvp for p in participations}
    owed: list[tuple[str, dict[str, Any]]] = []
    if seen is None:
        kind = (EventType.MEETING_CANCELLED if meeting.is_cancelled
                else EventType.MEETING_CREATED if meeting.sequence == 0 else EventType.MEETING_CHANGED)
        owed.append((kind, {"meeting": payloads.meeting_data(meeting)}))
    else:
        if meeting.is_cancelled and seen.get("status") != Meeting.Status.CANCELLED:
            owed.append((EventType.MEETING_CANCELLED, {"meeting": payloads.meeting_data(meeting)}))
        elif not meeting.is_cancelled and meeting.sequence > int(seen.get("sequence", 0)):
            owed.append((EventType.MEETING_CHANGED, {"meeting": payloads.meeting_data(meeting),
                                                     "changes": _changes_since(meeting, int(seen.get("sequence", 0)))}))
        told = seen.get("answers") or {}
        for participation in participations:
            answer = answers[str(participation.person_id)]
            if answer != Participation.Rsvp.NEEDS_ACTION and told.get(str(participation.person_id)) != answer:
                owed.append((EventType.ANSWER_RECEIVED, payloads.answer_data(meeting, participation)))
    subject.seen = {"sequence": meeting.sequence, "status": meeting.status, "answers": answers}
    subject.save(update_fields=["seen", "updated_at"])
    return _emit(owed, subject=f"meeting:{meeting_id}", now=now)


@transaction.atomic
def _observe_visit(visit_id: int, now: datetime) -> int:
    subject = _locked_subject(WebhookSubject.Kind.VISIT, visit_id)
    visit = Visit.objects.select_related("delegation__organisation").filter(pk=visit_id).first()
    if visit is None:
        return 0
    seen: dict[str, Any] = subject.seen or {}
    owed: list[tuple[str, dict[str, Any]]] = []
    if visit.status != seen.get("status") and visit.status in VISIT_EVENTS:
        owed.append((VISIT_EVENTS[visit.status], {"visit": payloads.visit_data(visit)}))
    booked = visit.programme_sent_at is not None
    meetings = list(Meeting.objects.filter(programme_slot__visit=visit).select_related("room")
                    .order_by("starts_at", "id"))
    programme = [[m.pk, m.sequence, m.status] for m in meetings]
    if booked and not seen.get("booked"):
        owed.append((EventType.PROGRAMME_BOOKED, payloads.programme_data(visit, meetings)))
    elif booked and programme != seen.get("programme"):
        owed.append((EventType.PROGRAMME_CHANGED, payloads.programme_data(visit, meetings)))
    subject.seen = {"status": visit.status, "booked": booked, "programme": programme}
    subject.save(update_fields=["seen", "updated_at"])
    return _emit(owed, subject=f"visit:{visit_id}", now=now)


def _emit(owed: list[tuple[str, dict[str, Any]]], *, subject: str, now: datetime) -> int:
    """One event per owed item that an active endpoint subscribes to, with a delivery per such endpoint."""
    if not owed:
        return 0
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "event_types"))
    emitted = 0
    for kind, data in owed:
        targets = [e for e in endpoints if kind in (e.event_types or [])]
        if not targets:
            continue
        event = WebhookEvent.objects.create(webhook_id=new_webhook_id(), type=kind, version=payloads.VERSION,
                                            occurred_at=now, subject=subject, data=data)
        WebhookDelivery.objects.bulk_create([WebhookDelivery(endpoint=e, event=event, due_at=now) for e in targets])
        emitted += 1
    return emitted


def disable_after() -> timedelta:
    return timedelta(hours=settings.VISITDESK_WEBHOOK_DISABLE_AFTER_HOURS)


