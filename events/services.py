"""Writes to the schedule: meetings, their participants and agenda.

Every function is one transaction. A change a participant must hear about raises the meeting's
iCalendar SEQUENCE and records a ``MeetingRevision`` saying what changed; calendar clients ignore an
update whose SEQUENCE did not rise (RFC 5546 §2.1.4). Overlaps are refused twice: a query first, to
name the conflicting meeting, and the PostgreSQL exclusion constraints as the guard that also holds
under concurrent requests.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone as djtz
from django.utils.translation import gettext

from core.errors import ValidationFailed
from core.periods import check_period
from core.text import single_line
from core.timezones import check_timezone
from directory.models import Person, Topic

from . import selectors
from .errors import MeetingCancelled, ScheduleConflict
from .models import AgendaItem, Event, Meeting, MeetingRevision, Participation, Room
from .signals import announce_schedule_change

logger = logging.getLogger(__name__)
DEADLOCK_DETECTED = "40P01"  # PostgreSQL SQLSTATE
#: Fields whose change must reach participants (they raise SEQUENCE).
SIGNIFICANT_FIELDS = ("title", "description", "starts_at", "ends_at", "timezone", "room", "location", "online_url")
EDITABLE_FIELDS = (*SIGNIFICANT_FIELDS, "kind", "event")


@dataclass(frozen=True)
class ParticipantSpec:
    person: Person
    role: str = Participation.Role.GUEST
    #: Blocks the person's time whatever the role (see ``Participation.exclusive``).
    exclusive: bool = False


def _blocks(role: str, exclusive: bool) -> bool:
    """Whether a participation occupies its person (hosts, chairs, presenters; exclusive guests)."""
    return role in Participation.BLOCKING_ROLES or exclusive


@dataclass(frozen=True)
class AgendaSpec:
    title: str
    topic: Topic | None = None
    presenter: Person | None = None
    minutes: int | None = None
    notes: str = ""


# --- validation ------------------------------------------------------------------------------

MEETING_ENDS_BEFORE_START = "The meeting must end after it starts."


def _validate_times(*, starts_at: datetime, ends_at: datetime, tz: str, room: Room | None) -> None:
    if djtz.is_naive(starts_at) or djtz.is_naive(ends_at):
        raise ValidationFailed("Times need a UTC offset (ISO 8601, e.g. 2026-12-01T10:00:00+01:00).", field="starts_at")
    check_period(starts_at, ends_at, message=MEETING_ENDS_BEFORE_START)
    zone = zoneinfo.ZoneInfo(check_timezone(tz))
    if room is not None and (room.bookable_from or room.bookable_until):
        local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        if local_start.date() != local_end.date() or (
            (room.bookable_from and local_start.time() < room.bookable_from)
            or (room.bookable_until and local_end.time() > room.bookable_until)
        ):
            opens = room.bookable_from.strftime("%H:%M") if room.bookable_from else "00:00"
            closes = room.bookable_until.strftime("%H:%M") if room.bookable_until else "24:00"
            raise ValidationFailed(
                gettext("%(room)s can be booked from %(start)s to %(end)s.") % {
                    "room": room.name, "start": opens, "end": closes},
                field="room",
            )


def _conflict_error(conflicts: list[Meeting], reasons: dict[int, str]) -> ScheduleConflict:
    described = [
        {
            "id": m.pk,
            "uid": m.uid,
            "title": m.title,
            "starts_at": m.starts_at.isoformat(),
            "ends_at": m.ends_at.isoformat(),
            "reason": reasons.get(m.pk, "overlap"),
        }
        for m in conflicts
    ]
    names = ", ".join(f"“{c['title']}” ({c['reason']})" for c in described)
    return ScheduleConflict(gettext("It overlaps with %(meetings)s.") % {"meetings": names}, conflicts=described,
                            meetings=conflicts)


def meeting_times_check(*, starts_at: datetime, ends_at: datetime, timezone: str, room: Room | None) -> None:
    """The rules on times every meeting write checks (offset, order, zone, the room's opening hours).

    Public so that a form can ask before saving (the admin) and show ``ValidationFailed.field``.
    """
    _validate_times(starts_at=starts_at, ends_at=ends_at, tz=timezone, room=room)


def meeting_overlap_check(
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: int | None,
    person_ids: Iterable[int],
    exclude_meeting_id: int | None = None,
) -> None:
    """The overlap check every meeting write runs first: ``ScheduleConflict`` naming the clashes.

    ``person_ids``: the people whose time the meeting would occupy (``Participation.blocks_time``).
    The conflicting meetings are on ``error.meetings`` (each with ``conflict_reason``) for forms.
    """
    found = selectors.meeting_conflicts(
        starts_at=starts_at, ends_at=ends_at, room_id=room_id, person_ids=list(person_ids),
        exclude_meeting_id=exclude_meeting_id,
    )
    if found:
        raise _conflict_error(list(found), {m.pk: m.conflict_reason for m in found})


def _raise_if_conflicts(*, meeting: Meeting, blocking_person_ids: Iterable[int]) -> None:
    if meeting.status != Meeting.Status.SCHEDULED:
        return
    meeting_overlap_check(starts_at=meeting.starts_at, ends_at=meeting.ends_at, room_id=meeting.room_id,
                          person_ids=blocking_person_ids, exclude_meeting_id=meeting.pk)


def _guarded_write(*, meeting: Meeting, blocking_person_ids: Iterable[int], write: Callable[[], object]) -> None:
    """Run ``write`` in a savepoint; an exclusion-constraint violation becomes ScheduleConflict.

    The pre-check cannot see a concurrent transaction's uncommitted row; the constraint waits for it
    and fails, and by then the other meeting is committed and can be named. Two transactions that
    insert overlapping rows at the same instant each wait for the other's row, and PostgreSQL breaks
    that with a deadlock error in one of them; that one retries once, which now waits for the
    winner's commit and then meets the ordinary exclusion violation.
    """
    person_ids = list(blocking_person_ids)
    _raise_if_conflicts(meeting=meeting, blocking_person_ids=person_ids)
    for attempt in range(2):
        try:
            with transaction.atomic():
                write()
            return
        except IntegrityError as exc:
            if "no_overlap" not in str(exc):
                raise
            _raise_if_conflicts(meeting=meeting, blocking_person_ids=person_ids)
            raise ScheduleConflict("Overlaps with a meeting booked at the same moment.", conflicts=[]) from exc
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK_DETECTED or attempt:
                raise
            logger.info("overlapping bookings of %s deadlocked; retrying to meet the winner", meeting.uid)


def _blocking_ids(participants: Iterable[ParticipantSpec | Participation]) -> list[int]:
    return [p.person.pk for p in participants if _blocks(p.role, p.exclusive)]


def _sync_participations(meeting: Meeting) -> None:
    """Copy the meeting's range and state onto its participations (for the exclusion constraint)."""
    scheduled = meeting.status == Meeting.Status.SCHEDULED
    meeting.participations.update(starts_at=meeting.starts_at, ends_at=meeting.ends_at, blocks_time=False)
    if scheduled:
        meeting.participations.filter(Q(role__in=Participation.BLOCKING_ROLES) | Q(exclusive=True)).update(
            blocks_time=True
        )


def _display(field: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Room):
        return str(value)
    if isinstance(value, Event):
        return value.title
    return str(value)


def _bump(meeting: Meeting, changes: dict[str, list[str]]) -> None:
    meeting.sequence += 1
    meeting.save(update_fields=["sequence", "updated_at"])
    MeetingRevision.objects.create(meeting=meeting, sequence=meeting.sequence, changes=changes)


# --- meetings --------------------------------------------------------------------------------


@transaction.atomic
def meeting_create(
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone: str | None = None,
    room: Room | None = None,
    location: str = "",
    online_url: str = "",
    kind: str = Meeting.Kind.MEETING,
    description: str = "",
    event: Event | None = None,
    participants: Sequence[ParticipantSpec] = (),
    agenda_items: Sequence[AgendaSpec] = (),
) -> Meeting:
    title, location = single_line(title), single_line(location)  # a line break would reach Subject and SUMMARY
    tz = timezone or (room.venue.timezone if room else None) or (event.venue.timezone if event and event.venue else None)
    tz = tz or settings.VISITDESK_DEFAULT_TIMEZONE
    _validate_times(starts_at=starts_at, ends_at=ends_at, tz=tz, room=room)
    _refuse_duplicate_people(participants)
    meeting = Meeting(
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz,
        room=room,
        location=location,
        online_url=online_url,
        kind=kind,
        event=event,
    )
    blocking = _blocking_ids(participants)

    def write() -> None:
        meeting.save()
        Participation.objects.bulk_create(
            Participation(
                meeting=meeting,
                person=p.person,
                role=p.role,
                starts_at=starts_at,
                ends_at=ends_at,
                blocks_time=_blocks(p.role, p.exclusive),
                exclusive=p.exclusive,
            )
            for p in participants
        )

    _guarded_write(meeting=meeting, blocking_person_ids=blocking, write=write)
    _replace_agenda(meeting, agenda_items)
    announce_schedule_change([meeting.pk])
    return meeting


def _refuse_duplicate_people(participants: Sequence[ParticipantSpec]) -> None:
    seen: set[int] = set()
    for p in participants:
        if p.person.pk in seen:
            raise ValidationFailed(f"{p.person.name} is listed twice.", field="participants")
        seen.add(p.person.pk)


@transaction.atomic
def meeting_update(*, meeting: Meeting, **changes: Any) -> Meeting:
    """Change any editable field; time or room changes are checked for overlaps.

    Raises SEQUENCE once for the whole call when a significant field really changed.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Cannot change {', '.join(sorted(unknown))} here.", field=sorted(unknown)[0])
    for one_line in ("title", "location"):
        if isinstance(changes.get(one_line), str):
            changes[one_line] = single_line(changes[one_line])
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise MeetingCancelled("A cancelled meeting cannot be changed; create a new one.")
    diff: dict[str, list[str]] = {}
    for field, value in changes.items():
        old = getattr(meeting, field)
        if old != value:
            if field in SIGNIFICANT_FIELDS:
                diff[field] = [_display(field, old), _display(field, value)]
            setattr(meeting, field, value)
    if not diff and not changes:
        return meeting
    _validate_times(starts_at=meeting.starts_at, ends_at=meeting.ends_at, tz=meeting.timezone, room=meeting.room)
    participations = list(meeting.participations.select_related("person"))

    def write() -> None:
        meeting.save()
        _sync_participations(meeting)

    _guarded_write(meeting=meeting, blocking_person_ids=_blocking_ids(participations), write=write)
    if diff:
        _bump(meeting, diff)
        announce_schedule_change([meeting.pk])
    return meeting


def meeting_reschedule(*, meeting: Meeting, starts_at: datetime, ends_at: datetime) -> Meeting:
    return meeting_update(meeting=meeting, starts_at=starts_at, ends_at=ends_at)


def meeting_move_room(*, meeting: Meeting, room: Room | None, location: str | None = None) -> Meeting:
    changes: dict[str, Any] = {"room": room}
    if location is not None:
        changes["location"] = location
    return meeting_update(meeting=meeting, **changes)


@transaction.atomic
def meeting_cancel(*, meeting: Meeting) -> Meeting:
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        return meeting  # idempotent: cancelling twice is not an error and not a second change
    meeting.status = Meeting.Status.CANCELLED
    meeting.cancelled_at = djtz.now()
    meeting.save(update_fields=["status", "cancelled_at", "updated_at"])
    _sync_participations(meeting)
    _bump(meeting, {"status": [Meeting.Status.SCHEDULED, Meeting.Status.CANCELLED]})
    announce_schedule_change([meeting.pk])
    return meeting


# --- participants ----------------------------------------------------------------------------


def _touch(meeting_id: int) -> None:
    """Mark the meeting changed for calendar feeds (ETag, pre-rendered VEVENT) without raising SEQUENCE."""
    Meeting.objects.filter(pk=meeting_id).update(updated_at=djtz.now())


@transaction.atomic
def participant_add(
    *, meeting: Meeting, person: Person, role: str = Participation.Role.GUEST, exclusive: bool | None = None
) -> Participation:
    """Add (or re-role) a participant; ``exclusive=None`` keeps an existing participation's flag."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.is_cancelled:
        raise MeetingCancelled("Cannot add people to a cancelled meeting.")
    existing = meeting.participations.filter(person=person).first()
    if existing is not None:
        if existing.role == role:
            return existing
        return participant_set_role(participation=existing, role=role)
    participation = Participation(
        meeting=meeting,
        person=person,
        role=role,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        blocks_time=_blocks(role, bool(exclusive)),
        exclusive=bool(exclusive),
    )
    blocking = [person.pk] if participation.blocks_time else []
    _guarded_write(meeting=meeting, blocking_person_ids=blocking, write=participation.save)
    _touch(meeting.pk)
    announce_schedule_change([meeting.pk])
    return participation


@transaction.atomic
def participant_set_role(*, participation: Participation, role: str) -> Participation:
    participation.role = role
    participation.blocks_time = (
        _blocks(role, participation.exclusive) and participation.meeting.status == Meeting.Status.SCHEDULED
    )
    blocking = [participation.person_id] if participation.blocks_time else []
    _guarded_write(meeting=participation.meeting, blocking_person_ids=blocking, write=participation.save)
    _touch(participation.meeting_id)
    announce_schedule_change([participation.meeting_id])
    return participation


@transaction.atomic
def participant_remove(*, meeting: Meeting, person: Person) -> bool:
    deleted, _ = Participation.objects.filter(meeting=meeting, person=person).delete()
    if deleted:
        _touch(meeting.pk)
        announce_schedule_change([meeting.pk])
    return bool(deleted)


@transaction.atomic
def participant_rsvp(*, participation: Participation, answer: str) -> Participation:
    """Record an answer; a cancelled meeting takes none (``MeetingCancelled``, nothing stored)."""
    allowed = {Participation.Rsvp.ACCEPTED, Participation.Rsvp.DECLINED, Participation.Rsvp.TENTATIVE}
    if answer not in allowed:
        raise ValidationFailed("Answer with accepted, declined or tentative.", field="rsvp")
    # Re-read under a lock: the caller's copy may predate a cancellation.
    status = Meeting.objects.select_for_update().filter(pk=participation.meeting_id).values_list("status", flat=True).first()
    if status == Meeting.Status.CANCELLED:
        raise MeetingCancelled("This meeting was cancelled; it takes no answers.")
    if participation.rsvp != answer:
        participation.rsvp = answer
        participation.responded_at = djtz.now()
        participation.save(update_fields=["rsvp", "responded_at"])
        Meeting.objects.filter(pk=participation.meeting_id).update(updated_at=djtz.now())
        announce_schedule_change([participation.meeting_id])
    return participation


@transaction.atomic
def participant_rsvp_reset(*, meeting_id: int, person_id: int, answered_before: datetime) -> bool:
    """Forget an answer given before the time or place changed (RFC 5546 §2.1.4: the attendee was
    just asked again, PARTSTAT=NEEDS-ACTION). An answer given after ``answered_before`` is to the new
    time and is kept. Does not raise SEQUENCE; touches the meeting so feeds show it."""
    done = (
        Participation.objects.filter(meeting_id=meeting_id, person_id=person_id)
        .exclude(rsvp=Participation.Rsvp.NEEDS_ACTION)
        .filter(Q(responded_at__isnull=True) | Q(responded_at__lt=answered_before))
        .update(rsvp=Participation.Rsvp.NEEDS_ACTION, responded_at=None)
    )
    if done:
        _touch(meeting_id)
        announce_schedule_change([meeting_id])
    return bool(done)


@transaction.atomic
def participants_replace(*, meeting: Meeting, participants: Sequence[ParticipantSpec]) -> Meeting:
    """Make the participant list exactly ``participants``, keeping RSVPs of people who stay."""
    _refuse_duplicate_people(participants)
    wanted = {p.person.pk: p for p in participants}
    removed, _ = meeting.participations.exclude(person_id__in=wanted).delete()
    if removed:
        _touch(meeting.pk)
    for spec in participants:
        participant_add(meeting=meeting, person=spec.person, role=spec.role)
    announce_schedule_change([meeting.pk])
    return meeting


@transaction.atomic
def participants_set_exclusive(*, meeting: Meeting, person_ids: Iterable[int]) -> None:
    """Make exactly these participants exclusive (they block time whatever their role).

    Refused with ``ScheduleConflict`` naming the other meeting when one of them is already busy then;
    on PostgreSQL the participation exclusion constraint holds it under concurrency too.
    """
    wanted = set(person_ids)
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    participations = list(meeting.participations.select_related("person"))
    changed = [p for p in participations if p.exclusive != (p.person_id in wanted)]
    if not changed:
        return
    for p in changed:
        p.exclusive = p.person_id in wanted
        p.blocks_time = _blocks(p.role, p.exclusive) and meeting.status == Meeting.Status.SCHEDULED

    def write() -> None:
        Participation.objects.bulk_update(changed, ["exclusive", "blocks_time"])

    newly_blocking = [p.person_id for p in changed if p.blocks_time]
    _guarded_write(meeting=meeting, blocking_person_ids=newly_blocking, write=write)


# --- agenda ----------------------------------------------------------------------------------


def _replace_agenda(meeting: Meeting, items: Sequence[AgendaSpec]) -> None:
    meeting.agenda_items.all().delete()
    AgendaItem.objects.bulk_create(
        AgendaItem(
            meeting=meeting,
            position=index,
            title=item.title,
            topic=item.topic,
            presenter=item.presenter,
            minutes=item.minutes,
            notes=item.notes,
        )
        for index, item in enumerate(items)
    )


@transaction.atomic
def agenda_replace(*, meeting: Meeting, items: Sequence[AgendaSpec], initial: bool = False) -> Meeting:
    """Replace the agenda; it is part of the invite's DESCRIPTION, so a real change raises SEQUENCE.

    ``initial``: the meeting was created in this same transaction (e.g. the admin saves the agenda
    inline right after the meeting) — nobody was told anything yet, so its SEQUENCE stays 0.
    """
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    before = [(a.title, a.topic_id, a.presenter_id, a.minutes, a.notes) for a in meeting.agenda_items.all()]
    after = [(i.title, i.topic.pk if i.topic else None, i.presenter.pk if i.presenter else None, i.minutes, i.notes)
             for i in items]
    if before == after:
        return meeting
    _replace_agenda(meeting, items)
    if meeting.is_cancelled:
        _touch(meeting.pk)  # no SEQUENCE for a cancelled meeting, but feeds show the agenda
    if initial and not meeting.revisions.exists():
        _touch(meeting.pk)
        announce_schedule_change([meeting.pk])
    elif not meeting.is_cancelled:
        _bump(meeting, {"agenda": [" · ".join(b[0] for b in before), " · ".join(a[0] for a in after)]})
        announce_schedule_change([meeting.pk])
    return meeting

