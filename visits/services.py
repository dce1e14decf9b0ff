"""The booking workflow: a request becomes a confirmed visit with a programme, then completes.

    requested ──confirm──▶ confirmed ──complete──▶ completed
        │                     │
        ├──decline──▶ declined └──cancel──▶ cancelled
        └──cancel───▶ cancelled

Each function is one transaction and refuses an illegal transition with ``InvalidTransition``.
Cancelling or declining a visit cancels its scheduled programme, which is what makes
participants receive METHOD:CANCEL.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils import timezone as djtz

from core.errors import ValidationFailed
from core.text import single_line
from core.timezones import check_timezone
from core.tokens import new_url_token
from directory.models import Organisation, Person, Topic
from directory.services import organisation_get_or_create, person_create_from_request

from . import booking
from .days import suggested_dates
from .errors import InvalidTransition
from .models import Delegation, PreferredWindow, ReferenceCounter, Visit, VisitLength, VisitMessage
from .signals import announce_visit_change

S = Visit.Status
ALLOWED = {
    S.REQUESTED: {S.CONFIRMED, S.DECLINED, S.CANCELLED},
    S.CONFIRMED: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.DECLINED: set(),
    S.CANCELLED: set(),
}
MAX_DELEGATION_SIZE = 50


@dataclass(frozen=True)
class MemberSpec:
    name: str
    email: str
    job_title: str = ""


@dataclass(frozen=True)
class VisitRequestInput:
    organisation_name: str
    contact_name: str
    contact_email: str
    delegation_name: str
    delegation_size: int
    preferred_windows: Sequence[tuple[date, date]]
    organisation_country: str = ""
    organisation_website: str = ""
    contact_language: str = "en"
    members: Sequence[MemberSpec] = field(default_factory=tuple)
    topics: Sequence[Topic] = field(default_factory=tuple)
    purpose: str = ""
    #: ``VisitLength`` value (half_day, one_day, two_days); blank when not said.
    duration: str = ""


def visit_reference_next(year: int) -> str:
    """The next ``VIS-<year>-NNNN``; call inside a transaction (the counter row is updated in place)."""
    counter, _ = ReferenceCounter.objects.get_or_create(year=year)
    ReferenceCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db()
    return f"VIS-{year}-{counter.last:04d}"


def _check_transition(visit: Visit, target: str) -> None:
    if target not in ALLOWED[Visit.Status(visit.status)]:
        raise InvalidTransition(
            f"Visit {visit.reference} is {visit.get_status_display().lower()} and cannot become {target}.",
            detail={"status": visit.status, "target": target},
        )


def _locked(visit: Visit) -> Visit:
    return Visit.objects.select_for_update().get(pk=visit.pk)


def validate_windows(windows: Sequence[tuple[date, date]], *, today: date) -> None:
    if not windows:
        raise ValidationFailed("Give at least one preferred date window.", field="preferred_windows")
    for start, end in windows:
        if end < start:
            raise ValidationFailed("A window must end on or after its start.", field="preferred_windows")
        if start < today:
            raise ValidationFailed("Preferred dates must not be in the past.", field="preferred_windows")


def _duration(value: str) -> str:
    if value and value not in VisitLength.values:
        raise ValidationFailed(f"Choose one of: {', '.join(VisitLength.values)}.", field="duration")
    return value


@transaction.atomic
def visit_request_submit(*, data: VisitRequestInput, host_organisation: Organisation | None = None) -> Visit:
    """Record a public visit request.

    The organisation is matched by name and country (organisations are public facts; nothing of an
    existing one changes); contact and members are always new people marked ``needs_review``.
    """
    validate_windows(data.preferred_windows, today=djtz.localdate())
    if not 1 <= data.delegation_size <= MAX_DELEGATION_SIZE:
        raise ValidationFailed(f"Delegation size must be between 1 and {MAX_DELEGATION_SIZE}.", field="delegation.size")
    if len(data.members) > data.delegation_size:
        raise ValidationFailed("More members listed than the delegation size.", field="delegation.members")
    organisation, _ = organisation_get_or_create(
        name=single_line(data.organisation_name),
        country=data.organisation_country,
        defaults={"website": data.organisation_website},
    )
    # Anonymous input never reads or changes existing people: contact and members are new,
    # unreviewed rows even when their address is known (a coordinator links or merges on review).
    contact = person_create_from_request(
        name=single_line(data.contact_name), email=data.contact_email, organisation=organisation,
        language=data.contact_language,
    )
    delegation = Delegation.objects.create(
        name=single_line(data.delegation_name), organisation=organisation, lead=contact, size=data.delegation_size
    )
    members = [contact]
    seen = {contact.email.lower()}
    for m in data.members:
        if m.email.strip().lower() in seen:
            continue  # the same address twice in one request is one person
        seen.add(m.email.strip().lower())
        members.append(
            person_create_from_request(name=single_line(m.name), email=m.email, organisation=organisation,
                                       job_title=single_line(m.job_title),
                                       language=data.contact_language)
        )
    delegation.members.set(members)
    visit = Visit.objects.create(
        reference=visit_reference_next(djtz.localdate().year),
        delegation=delegation,
        contact=contact,
        host_organisation=host_organisation,
        purpose=data.purpose,
        duration=_duration(data.duration),
        language=data.contact_language,
    )
    visit.topics.set(data.topics)
    PreferredWindow.objects.bulk_create(PreferredWindow(visit=visit, start=s, end=e) for s, e in data.preferred_windows)
    announce_visit_change(visit.pk, "requested")
    return visit


@transaction.atomic
def visit_confirm(
    *,
    visit: Visit,
    by: Person | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    timezone: str | None = None,
) -> Visit:
    """Confirm a requested visit; without dates, the requested length inside the first preferred
    window, on working days (``days.suggested_dates``; the whole window if no length was asked)."""
    visit = _locked(visit)
    _check_transition(visit, S.CONFIRMED)
    if starts_on is None:
        suggested = suggested_dates(visit)
        if suggested is None:
            raise ValidationFailed("Give the visit's dates.", field="starts_on")
        starts_on, ends_on = suggested
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise ValidationFailed("The visit must end on or after its first day.", field="ends_on")
    if timezone:
        visit.timezone = check_timezone(timezone)
    visit.status, visit.starts_on, visit.ends_on = S.CONFIRMED, starts_on, ends_on
    visit.confirmed_at = djtz.now()
    if by is not None:
        visit.coordinator = by
    visit.save()
    announce_visit_change(visit.pk, "confirmed")
    return visit


def _close(visit: Visit, target: str, note: str) -> Visit:
    visit = _locked(visit)
    _check_transition(visit, target)
    visit.status = target
    visit.decision_note = note
    visit.closed_at = djtz.now()
    visit.save()
    if target in (S.CANCELLED, S.DECLINED):
        booking.programme_cancel(visit=visit)
    announce_visit_change(visit.pk, target)
    return visit


@transaction.atomic
def visit_decline(*, visit: Visit, by: Person | None = None, reason: str = "") -> Visit:
    return _close(visit, S.DECLINED, reason)


@transaction.atomic
def visit_cancel(*, visit: Visit, by: Person | None = None, reason: str = "") -> Visit:
    """Cancel by a coordinator or by the requester through the status link."""
    return _close(visit, S.CANCELLED, reason)


@transaction.atomic
def visit_complete(*, visit: Visit, by: Person | None = None, today: date | None = None) -> Visit:
    visit = _locked(visit)
    _check_transition(visit, S.COMPLETED)
    today = today or djtz.localdate(timezone=zoneinfo.ZoneInfo(visit.timezone))
    if visit.ends_on and visit.ends_on >= today:
        raise InvalidTransition(f"Visit {visit.reference} has not ended yet (last day {visit.ends_on}).")
    return _close(visit, S.COMPLETED, visit.decision_note)


def visits_complete_past(*, today: date | None = None) -> int:
    """Mark confirmed visits whose last day has passed as completed (run hourly by beat)."""
    done = 0
    for visit in Visit.objects.filter(status=S.CONFIRMED, ends_on__lt=today or djtz.localdate()):
        try:
            visit_complete(visit=visit, today=today)
            done += 1
        except InvalidTransition:
            continue  # its own time zone says it is still running
    return done


@transaction.atomic
def visit_message_add(*, visit: Visit, body: str, kind: str = VisitMessage.Kind.NOTE,
                      from_requester: bool = True) -> VisitMessage:
    body = body.strip()
    if not body:
        raise ValidationFailed("Write a message.", field="body")
    visit = _locked(visit)  # the caller's copy may predate a cancel
    if not booking.programme_is_open(visit):  # messages are about a visit still being planned
        raise InvalidTransition(f"Visit {visit.reference} is {visit.status}; messages are closed.")
    message = VisitMessage.objects.create(visit=visit, kind=kind, body=body[:5000], from_requester=from_requester)
    announce_visit_change(visit.pk, "message")
    return message


@transaction.atomic
def visit_programme_send(*, visit: Visit, by: Person | None = None) -> Visit:
    """"Send programme": the delegation (each member and the requester) gets the whole programme in one
    mail — again, if it had it already. The mail itself is owed by the notifications reconciliation,
    which compares ``programme_sent_at`` with when each person was last told."""
    visit = _locked(visit)
    if visit.status != S.CONFIRMED:
        raise InvalidTransition(
            f"Visit {visit.reference} is {visit.get_status_display().lower()}; only a confirmed visit's "
            "programme can be sent.", detail={"status": visit.status})
    if visit.delegation_mail != Visit.DelegationMail.PROGRAMME:
        raise InvalidTransition(
            f"Visit {visit.reference}'s delegation receives a calendar invitation per meeting; choose the "
            "programme mail for this visit first.", detail={"delegation_mail": visit.delegation_mail})
    if not booking.programme_has_meetings(visit):
        raise ValidationFailed("The programme has no scheduled meeting yet.", field="programme")
    visit.programme_sent_at = djtz.now()
    visit.save(update_fields=["programme_sent_at", "updated_at"])
    announce_visit_change(visit.pk, "programme")
    return visit


@transaction.atomic
def visit_rotate_feed_token(*, visit: Visit) -> Visit:
    """A new programme-feed secret: the old feed URL and its meeting links answer 404 from now on."""
    visit.feed_token = new_url_token()
    visit.save(update_fields=["feed_token", "updated_at"])
    return visit


@transaction.atomic
def visit_rotate_status_token(*, visit: Visit) -> Visit:
    """A new status-page secret (e.g. the link was forwarded): the old page and API URL answer 404."""
    visit.status_token = new_url_token()
    visit.save(update_fields=["status_token", "updated_at"])
    return visit
