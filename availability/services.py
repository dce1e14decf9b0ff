"""Writes for availability: working hours, absences, closures, external calendars, and the booking check.

``meeting_availability_check`` is how interfaces ask, before creating or moving a meeting, whether a
blocking participant (chair, host, presenter) would be outside working hours, absent or busy in their
own calendar, or the room closed. ``events`` cannot import this app, so the API calls it around the
events/visits services and records an override on the meeting with ``meeting_mark_availability``.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from core.errors import ValidationFailed
from core.periods import check_period
from core.text import single_line
from directory.models import Person
from events.models import Meeting, Room

from . import hours
from . import intervals as iv
from .errors import AvailabilityConflict
from .holidays import holiday_on, holiday_spans
from .models import Absence, ExternalBusy, ExternalCalendar, HoursException, RoomClosure, WeeklyHours

if TYPE_CHECKING:
    from .fetch import FetchResult

logger = logging.getLogger(__name__)

# --- working hours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySpec:
    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class ExceptionSpec:
    """``start``/``end`` None: not working that day."""

    date: date
    start: time | None = None
    end: time | None = None


@transaction.atomic
def working_hours_set(*, person: Person, weekly: Sequence[WeeklySpec], exceptions: Sequence[ExceptionSpec]) -> None:
    """Replace the person's weekly pattern and exceptions (what ``PUT …/working-hours/`` sends)."""
    for index, spec in enumerate(weekly):
        if not 0 <= spec.weekday <= 6:
            raise ValidationFailed("weekday is 0 (Monday) to 6 (Sunday).", field=f"weekly[{index}].weekday")
        check_period(spec.start, spec.end, field=f"weekly[{index}].end",
                     message="An interval must end after it starts (no overnight intervals).")
    off_days: set[date] = set()
    working: dict[date, list[tuple[time, time]]] = {}
    for index, day in enumerate(exceptions):
        if (day.start is None) != (day.end is None):
            raise ValidationFailed("Give both start and end, or neither for a day off.", field=f"exceptions[{index}]")
        if day.start is None or day.end is None:
            if day.date in off_days:
                raise ValidationFailed(f"{day.date.isoformat()} is already a day off.", field=f"exceptions[{index}]")
            off_days.add(day.date)
        else:
            check_period(day.start, day.end, field=f"exceptions[{index}].end",
                         message="An interval must end after it starts.")
            # One exception per date: its intervals neither repeat nor overlap (the database keeps
            # one row per start, and one day off, per person and date).
            if any(day.start < end and start < day.end for start, end in working.get(day.date, [])):
                raise ValidationFailed(f"This overlaps another interval on {day.date.isoformat()}.",
                                       field=f"exceptions[{index}]")
            working.setdefault(day.date, []).append((day.start, day.end))
    working_days = set(working)
    both = sorted(off_days & working_days)
    if both:
        raise ValidationFailed(f"{both[0].isoformat()} is both a day off and a working day.", field="exceptions")
    WeeklyHours.objects.filter(person=person).delete()
    HoursException.objects.filter(person=person).delete()
    WeeklyHours.objects.bulk_create(WeeklyHours(person=person, weekday=s.weekday, start=s.start, end=s.end)
                                    for s in weekly)
    HoursException.objects.bulk_create(HoursException(person=person, date=s.date, start=s.start, end=s.end)
                                       for s in exceptions)


# --- absences and closures ---------------------------------------------------------------------


def _check_range(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed("Times need a UTC offset.", field="starts_at")
    check_period(starts_at, ends_at)


def absence_create(*, person: Person, starts_at: datetime, ends_at: datetime, reason: str = "") -> Absence:
    _check_range(starts_at, ends_at)
    return Absence.objects.create(person=person, starts_at=starts_at, ends_at=ends_at, reason=reason)


def _period_update(period: Absence | RoomClosure, owner: str, changes: dict[str, Any]) -> None:
    """Absences and closures change the same way: owner, range and reason, the range checked again."""
    for field, value in changes.items():
        if field not in {owner, "starts_at", "ends_at", "reason"}:
            raise ValidationFailed(f"Cannot change {field}.", field=field)
        setattr(period, field, value)
    _check_range(period.starts_at, period.ends_at)
    period.save()


def absence_update(*, absence: Absence, **changes: Any) -> Absence:
    _period_update(absence, "person", changes)
    return absence


def absence_remove(*, absence: Absence) -> None:
    absence.delete()


def hours_exception_remove(*, person: Person, day: date) -> None:
    HoursException.objects.filter(person=person, date=day).delete()


def room_closure_create(*, room: Room, starts_at: datetime, ends_at: datetime, reason: str = "") -> RoomClosure:
    _check_range(starts_at, ends_at)
    return RoomClosure.objects.create(room=room, starts_at=starts_at, ends_at=ends_at, reason=reason)


def room_closure_update(*, closure: RoomClosure, **changes: Any) -> RoomClosure:
    _period_update(closure, "room", changes)
    return closure


def room_closure_remove(*, closure: RoomClosure) -> None:
    closure.delete()


# --- external calendars ------------------------------------------------------------------------


def external_calendar_limit_check(*, person: Person, calendars: int) -> None:
    """Refuse (a field error on ``url``) if ``person`` would have more than
    ``VISITDESK_BUSY_CALENDARS_PER_PERSON`` calendars: each one is fetched every half hour by the
    worker, so one account must not be able to add a hundred. The API, the page and the admin ask it.
    """
    from django.conf import settings

    cap = settings.VISITDESK_BUSY_CALENDARS_PER_PERSON
    if calendars > cap:
        raise ValidationFailed(f"At most {cap} calendars per person; remove one before adding another.",
                               field="url")


def external_calendar_add(*, person: Person, url: str) -> ExternalCalendar:
    """Add a calendar and queue its first sync (after commit; nothing is fetched here)."""
    from .fetch import check_url_shape

    check_url_shape(url)
    with transaction.atomic():
        # One person's adds are serialised on their row, so two at once cannot both pass the cap.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        external_calendar_limit_check(person=person,
                                      calendars=ExternalCalendar.objects.filter(person=person).count() + 1)
        calendar = ExternalCalendar.objects.create(person=person, url=url)
        external_calendar_sync_request(calendar=calendar)
    return calendar


def external_calendar_change_url(*, calendar: ExternalCalendar, url: str) -> ExternalCalendar:
    """A new address starts from scratch: old busy rows and cache validators belong to the old one.
    Its first sync is queued like a new calendar's."""
    from .fetch import check_url_shape

    check_url_shape(url)
    with transaction.atomic():
        if url != calendar.url:
            calendar.busy.all().delete()
            calendar.url, calendar.etag, calendar.last_modified = url, "", ""
            calendar.last_synced_at, calendar.last_error, calendar.busy_count = None, "", 0
            calendar.save()
            external_calendar_sync_request(calendar=calendar)
    return calendar


def external_calendar_sync_request(*, calendar: ExternalCalendar, now: datetime | None = None) -> bool:
    """Queue a sync of ``calendar`` in the worker unless one is already queued or running.

    The claim is a conditional update of ``sync_queued_at`` (one sync per calendar at a time, on any
    database and across processes); the task is sent after commit, so the worker reads the committed
    row. Returns whether this call queued one. Never fetches: web requests must not wait for a
    calendar server.
    """
    from django.utils import timezone as djtz

    from .models import SYNC_CLAIM_STALE

    now = now or djtz.now()
    claimed = ExternalCalendar.objects.filter(pk=calendar.pk).filter(
        models.Q(sync_queued_at__isnull=True) | models.Q(sync_queued_at__lt=now - SYNC_CLAIM_STALE)
    ).update(sync_queued_at=now, sync_started_at=None)
    if claimed:
        calendar.sync_queued_at, calendar.sync_started_at = now, None
        transaction.on_commit(lambda: _queue_sync(calendar.pk, now), robust=True)
    return bool(claimed)


def _queue_sync(calendar_id: int, claimed_at: datetime) -> None:
    from .tasks import sync_calendar_later

    if not sync_calendar_later(calendar_id):
        # The broker is unreachable: give the claim back, so the next request or beat run can queue it.
        ExternalCalendar.objects.filter(pk=calendar_id, sync_queued_at=claimed_at).update(sync_queued_at=None)


def external_calendar_sync_queued(*, calendar_id: int) -> None:
    """The worker's side of a queued sync: mark it running, import, release the claim.

    A second task for a calendar whose sync is already running (a claim that went stale while the
    queue was long) does nothing. Any failure ends as ``last_error``, never as an exception that
    would take the worker's other feeds with it.
    """
    from django.utils import timezone as djtz

    from .models import SYNC_CLAIM_STALE

    started = djtz.now()
    running_elsewhere = models.Q(sync_started_at__gte=started - SYNC_CLAIM_STALE)
    if not ExternalCalendar.objects.filter(pk=calendar_id).exclude(running_elsewhere).update(
            sync_started_at=started, sync_queued_at=Coalesce("sync_queued_at", started)):
        return
    try:
        calendar = ExternalCalendar.objects.select_related("person").filter(pk=calendar_id).first()
        if calendar is None:  # removed meanwhile
            return
        try:
            external_calendar_sync(calendar=calendar)
        except Exception:
            logger.exception("busy-time import of calendar %s failed", calendar_id)
            external_calendar_record_error(calendar=calendar, message="Internal error while importing.")
    finally:
        ExternalCalendar.objects.filter(pk=calendar_id, sync_started_at=started).update(
            sync_queued_at=None, sync_started_at=None)


#: The longest ``last_error`` kept: a sentence for the owner, not a document.
LAST_ERROR_MAX_CHARS = 300


def clean_error_message(message: str) -> str:
    """``message`` as it may be stored and shown: one line without control characters (a NUL made
    PostgreSQL refuse the row) or lone surrogates, at most ``LAST_ERROR_MAX_CHARS`` characters."""
    text = single_line(message).encode("utf-8", "replace").decode("utf-8")
    if len(text) > LAST_ERROR_MAX_CHARS:
        text = text[:LAST_ERROR_MAX_CHARS - 1].rstrip() + "…"
    return text or "The calendar could not be imported."


def external_calendar_record_error(*, calendar: ExternalCalendar, message: str) -> None:
    """Store why the last import failed — the one place ``last_error`` is written with a failure;
    the busy times of the last good import stay."""
    calendar.last_error = clean_error_message(message)
    ExternalCalendar.objects.filter(pk=calendar.pk).update(last_error=calendar.last_error)


# --- the booking check -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a booking is against availability; ``detail`` is private (coordinators only)."""

    reason: str  # outside_working_hours | absent | busy_elsewhere | room_closed
    message: str
    person: int | None = None
    room: int | None = None
    detail: str = ""

    def as_dict(self, *, reveal: bool) -> dict[str, object]:
        out: dict[str, object] = {"reason": self.reason, "message": self.message}
        if self.person is not None:
            out["person"] = self.person
        if self.room is not None:
            out["room"] = self.room
        if reveal and self.detail:
            out["detail"] = self.detail
        return out


def external_calendar_remove(*, calendar: ExternalCalendar) -> None:
    """The calendar goes with its imported busy times (cascade): nothing of it stays behind."""
    calendar.delete()


def meeting_availability_problems(
    *, starts_at: datetime, ends_at: datetime, people: Iterable[Person], room: Room | None = None,
) -> list[Problem]:
    """Why booking [starts_at, ends_at) would go against the listed people's or the room's availability.

    Other meetings are not looked at here: double bookings are ``events``' job (its 409 names the
    meeting). Imported busy times say only "busy in their own calendar": Visitdesk stores nothing more.
    """
    problems: list[Problem] = []
    people = list({p.pk: p for p in people}.values())
    ids = [p.pk for p in people]
    patterns = hours.person_patterns(ids)
    absences: dict[int, list[Absence]] = {}
    for absence in Absence.objects.filter(person_id__in=ids, starts_at__lt=ends_at, ends_at__gt=starts_at):
        absences.setdefault(absence.person_id, []).append(absence)
    external = set(ExternalBusy.objects.filter(person_id__in=ids, starts_at__lt=ends_at, ends_at__gt=starts_at)
                   .values_list("person_id", flat=True))
    for person in sorted(people, key=lambda p: p.name):
        if person.pk in patterns:
            open_spans = iv.normalize(hours.open_hours(patterns[person.pk], starts_at, ends_at))
            if iv.subtract([(starts_at, ends_at)], open_spans):
                problems.append(Problem("outside_working_hours", gettext("%(name)s is outside their working hours.")
                                        % {"name": person.name}, person=person.pk))
        for absence in absences.get(person.pk, []):
            problems.append(Problem("absent", gettext("%(name)s is absent then.") % {"name": person.name},
                                    person=person.pk, detail=absence.reason))
        if person.pk in external:
            problems.append(Problem("busy_elsewhere", gettext("%(name)s is busy in their own calendar.")
                                    % {"name": person.name}, person=person.pk))
    if room is not None:
        for closure in RoomClosure.objects.filter(room=room, starts_at__lt=ends_at, ends_at__gt=starts_at):
            problems.append(Problem("room_closed", gettext("%(room)s is closed then.") % {"room": room.name},
                                    room=room.pk, detail=closure.reason))
        venue = room.venue
        for a, _b in holiday_spans(country=venue.country, subdivision=venue.subdivision, zone=venue.timezone,
                                   start=starts_at, end=ends_at):
            day = a.astimezone(zoneinfo.ZoneInfo(venue.timezone)).date()
            name = holiday_on(country=venue.country, subdivision=venue.subdivision, day=day)
            problems.append(Problem("room_closed", gettext("%(room)s is closed: %(day)s is a public holiday (%(name)s).") % {
                                        "room": room.name, "day": f"{day:%d %b %Y}", "name": name},
                                    room=room.pk, detail=name))
    return problems


def meeting_availability_check(
    *,
    starts_at: datetime,
    ends_at: datetime,
    people: Iterable[Person],
    room: Room | None = None,
    override: bool = False,
    reveal: bool = False,
) -> bool:
    """Raise ``AvailabilityConflict`` unless everyone is available or ``override`` is set.

    Returns True when the booking goes ahead *against* availability (override used on a real
    problem), which the caller records with ``meeting_mark_availability``. ``reveal`` adds private
    details (absence and closure reasons) to the error, for coordinators.
    """
    problems = meeting_availability_problems(starts_at=starts_at, ends_at=ends_at, people=people, room=room)
    if not problems:
        return False
    if override:
        return True
    # Said as what the person can do on the page (the "Book anyway" box on the planner's panel and in
    # the admin); the API's clients read the machine hint in the error's detail (``book_anyway``).
    what_now = (gettext("To book it all the same, tick “Book anyway”.") if reveal
                else gettext("Only a coordinator can book it all the same."))
    message = " ".join([*(p.message for p in problems), what_now])
    raise AvailabilityConflict(message, unavailable=[p.as_dict(reveal=reveal) for p in problems])


def meeting_mark_availability(*, meeting: Meeting, against: bool) -> None:
    """Record whether the meeting's current time was booked against availability.

    A plain column update: not a change participants must hear about, so no SEQUENCE.
    """
    if meeting.booked_against_availability != against:
        Meeting.objects.filter(pk=meeting.pk).update(booked_against_availability=against)
        meeting.booked_against_availability = against


def external_calendar_read(
    *, url: str, zone: str, start: datetime, end: datetime, etag: str = "", last_modified: str = "",
) -> tuple[FetchResult, list[iv.Interval] | None]:
    """Fetch a calendar and read its busy intervals in [start, end) — no database, no writes.

    The busy intervals are None when the server says the calendar is unchanged (304). Raises
    FeedError. Bounded in time (the fetch deadline, the reader's CPU limit) and in memory (the body
    limit in this process, the reader's address-space limit in its child process).
    """
    from .fetch import fetch
    from .ics_sandbox import busy_from_ics_isolated

    result = fetch(url, etag=etag, last_modified=last_modified)
    if result.status != 200:
        return result, None
    return result, busy_from_ics_isolated(result.body, zone=zone, start=start, end=end)


def external_calendar_sync(*, calendar: ExternalCalendar, now: datetime | None = None) -> ExternalCalendar:
    """Fetch one calendar and replace its busy intervals; record success or the error. Worker only.

    Never raises for a bad feed: the error is stored in ``last_error`` (shown to the person and
    coordinators) and the busy times from the last good fetch stay, so a calendar server's hiccup
    does not suddenly make someone look free. The fetch has one wall-clock deadline
    (``availability.fetch``); the calendar is read in a child process with hard memory and CPU
    limits (``availability.ics_sandbox``).
    """
    from django.conf import settings
    from django.utils import timezone as djtz

    from .errors import FeedError

    now = now or djtz.now()
    start = now - timedelta(days=1)
    end = now + timedelta(days=settings.VISITDESK_BUSY_HORIZON_DAYS)
    ExternalCalendar.objects.filter(pk=calendar.pk).update(last_attempt_at=now)
    calendar.last_attempt_at = now
    try:
        result, spans = external_calendar_read(url=calendar.url, etag=calendar.etag,
                                               last_modified=calendar.last_modified,
                                               zone=calendar.person.timezone, start=start, end=end)
    except FeedError as exc:
        external_calendar_record_error(calendar=calendar, message=exc.message)
        return calendar
    with transaction.atomic():
        if spans is not None:
            calendar.busy.all().delete()
            ExternalBusy.objects.bulk_create(
                ExternalBusy(calendar=calendar, person_id=calendar.person_id, starts_at=a, ends_at=b) for a, b in spans
            )
            calendar.busy_count = len(spans)
        calendar.etag, calendar.last_modified = single_line(result.etag)[:300], single_line(result.last_modified)[:100]
        calendar.last_synced_at, calendar.last_error = now, ""
        calendar.save(update_fields=["etag", "last_modified", "last_synced_at", "last_error", "busy_count"])
    return calendar


def external_calendars_claim_due(*, now: datetime, every: timedelta) -> list[int]:
    """Ids of calendars not tried within ``every`` and with no sync queued or running, each claimed
    by a conditional update (the same claim a manual sync takes), so two beat runs, a slow worker or
    a "sync now" never fetch the same calendar twice at once."""
    from .models import SYNC_CLAIM_STALE

    claimed = []
    free = models.Q(sync_queued_at__isnull=True) | models.Q(sync_queued_at__lt=now - SYNC_CLAIM_STALE)
    due = ExternalCalendar.objects.filter(
        models.Q(last_attempt_at__isnull=True) | models.Q(last_attempt_at__lt=now - every)
    ).filter(free).values_list("pk", "last_attempt_at")
    for pk, seen in due:
        if ExternalCalendar.objects.filter(free, pk=pk, last_attempt_at=seen).update(
                last_attempt_at=now, sync_queued_at=now, sync_started_at=None):
            claimed.append(pk)
    return claimed
