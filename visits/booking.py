"""Booking: the one owner of every change to a meeting that is, or may become, part of a programme.

Create, change (time, room, text, participants, agenda, programme), reschedule, cancel, answer an
invitation, book a batch of computed suggestions: every interface — the API (and the planner through
it), the Meeting admin, proposal accept and repair, batch booking, the RSVP pages and links — calls a
function here and nothing beneath it (``tests/test_architecture.py`` pins that ``events.services``'
writes are called only from this module and from ``events`` itself). Each function owns one
transaction and does, in this order:

1. re-read what it changes under a lock (a caller's copy may predate a concurrent change or cancel);
2. refuse a programme that is no longer open (``programme_is_open``);
3. check availability once, for the people the meeting occupies (``blocking_people``) and its room —
   a coordinator may book against it, which the meeting records;
4. write through ``events.services``, which owns times, overlaps (409, backed by PostgreSQL's
   exclusion constraints), SEQUENCE and revisions, and keep the delegation's exclusivity in sync.

Errors are ``core.errors.DomainError`` subclasses; each interface translates them (API JSON, admin
messages, page errors). Nothing here knows HTTP.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from django.db import transaction
from django.utils import timezone as djtz
from django.utils.translation import gettext

from availability import services as availability_services
from availability.selectors import busy_intervals
from core.errors import NotAllowed
from directory.models import Person
from events import services as event_services
from events.errors import MeetingCancelled
from events.models import Meeting, Participation, Room
from events.services import AgendaSpec, ParticipantSpec

from .errors import InvalidTransition, WorldChanged
from .models import ProgrammeSlot, Visit
from .selectors import delegation_people_ids

__all__ = [
    "OPEN_PROGRAMME_STATES",
    "UNCHANGED",
    "AgendaSpec",
    "Booker",
    "BookingSpec",
    "ParticipantSpec",
    "blocking_people",
    "meeting_answer",
    "meeting_answer_reset",
    "meeting_cancel",
    "meeting_change",
    "meeting_check",
    "meeting_create",
    "meeting_delegate",
    "meeting_reschedule",
    "programme_book",
    "programme_cancel",
    "programme_has_meetings",
    "programme_is_open",
]

# --- the rules -----------------------------------------------------------------------------------

#: A programme can change while its visit is requested or confirmed; declined, cancelled and completed
#: visits keep their programme as it was.
OPEN_PROGRAMME_STATES: Final = frozenset({Visit.Status.REQUESTED, Visit.Status.CONFIRMED})


def programme_is_open(visit: Visit) -> bool:
    """Whether meetings may be added to, moved into or booked for ``visit``'s programme."""
    return visit.status in OPEN_PROGRAMME_STATES


def blocking_people(participants: Iterable[ParticipantSpec], *, delegation: Collection[int]) -> list[Person]:
    """Whose time a meeting occupies: its chairs, hosts and presenters, and — in a programme — every
    member of the visiting delegation whatever their role (they travel together, so a guest seat in
    one meeting still keeps them from another). Availability is checked for exactly these people,
    and ``events`` refuses an overlap for exactly them (``exclusive`` marks the delegation)."""
    return [p.person for p in participants
            if p.role in Participation.BLOCKING_ROLES or p.exclusive or p.person.pk in delegation]


@dataclass(frozen=True)
class Booker:
    """Who asks for the change. Coordinators may book against availability and see private reasons
    (absence and closure reasons) in the refusal; everyone else gets the reason's kind only."""

    coordinator: bool = False


#: Proposal accept/repair and batch booking run on a coordinator's behalf.
COORDINATOR: Final = Booker(coordinator=True)


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


#: ``meeting_change(visit=UNCHANGED)``: leave the meeting's programme as it is (``None`` takes it out).
UNCHANGED: Final = _Unchanged.UNCHANGED


# --- helpers -------------------------------------------------------------------------------------


def _open_visit(visit: Visit) -> Visit:
    """The visit re-read under a lock (a caller's copy may predate a cancel), refused unless open."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not programme_is_open(visit):
        raise InvalidTransition(f"Visit {visit.reference} is {visit.status}; its programme is closed.")
    return visit


def _visit_of(meeting: Meeting) -> Visit | None:
    slot = ProgrammeSlot.objects.filter(meeting_id=meeting.pk).select_related("visit").first()
    return slot.visit if slot else None


def _delegation(visit: Visit | None) -> set[int]:
    return delegation_people_ids(visit) if visit is not None else set()


def _check_availability(*, starts_at: datetime, ends_at: datetime, people: Sequence[Person], room: Room | None,
                        override: bool, booker: Booker) -> bool:
    """Raise ``AvailabilityConflict`` unless everyone is free or a coordinator overrides; True when
    the booking goes ahead against availability (recorded on the meeting)."""
    if override and not booker.coordinator:
        raise NotAllowed("Only coordinators may book against availability.")
    return availability_services.meeting_availability_check(
        starts_at=starts_at, ends_at=ends_at, people=people, room=room, override=override, reveal=booker.coordinator,
    )


def _record(meeting: Meeting, against: bool | None) -> None:
    if against is not None:
        availability_services.meeting_mark_availability(meeting=meeting, against=against)


def _sorted(participants: Iterable[ParticipantSpec]) -> list[ParticipantSpec]:
    """By person, so concurrent writers lock participant rows in one order (no deadlocks)."""
    return sorted(participants, key=lambda p: p.person.pk)


# --- one meeting ---------------------------------------------------------------------------------


@transaction.atomic
def meeting_create(
    *,
    visit: Visit | None = None,
    participants: Sequence[ParticipantSpec] = (),
    agenda_items: Sequence[AgendaSpec] = (),
    override: bool = False,
    booker: Booker = Booker(),
    programme_kind: str = "",
    **fields: Any,
) -> Meeting:
    """A new meeting, in ``visit``'s programme or standalone (``fields`` as ``events.services.meeting_create``).

    In a programme the delegation's members block their time like hosts (``exclusive``), the meeting
    takes the visit's zone unless one is given, a closed programme refuses it, and ``programme_kind``
    (a ``ProgrammeKind``: welcome, topic, lunch, break, wrap-up; blank for none) says the part it plays.
    """
    if visit is not None:
        visit = _open_visit(visit)
        fields.setdefault("timezone", visit.timezone)
    delegation = _delegation(visit)
    participants = _sorted(replace(p, exclusive=p.exclusive or p.person.pk in delegation) for p in participants)
    against = _check_availability(
        starts_at=fields["starts_at"], ends_at=fields["ends_at"],
        people=blocking_people(participants, delegation=delegation), room=fields.get("room"),
        override=override, booker=booker,
    )
    meeting = event_services.meeting_create(participants=participants, agenda_items=agenda_items, **fields)
    if visit is not None:
        ProgrammeSlot.objects.create(visit=visit, meeting=meeting, kind=programme_kind)
    _record(meeting, against)
    return meeting


def _change_availability(*, meeting: Meeting, changes: Mapping[str, Any], participants: Sequence[ParticipantSpec],
                         before: Sequence[Person], delegation: Collection[int], override: bool,
                         booker: Booker) -> bool | None:
    """A new time is checked for everyone the meeting occupies and its room; otherwise only people who
    newly block and a new room are (someone already booked there was checked when they were added).
    Returns the flag to record, or None to keep the recorded one."""
    starts_at, ends_at = changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at)
    room = changes.get("room", meeting.room)
    moved = (starts_at, ends_at) != (meeting.starts_at, meeting.ends_at)
    people = blocking_people(participants, delegation=delegation)
    if not moved:
        known = {p.pk for p in before}
        people = [p for p in people if p.pk not in known]
        if room == meeting.room:
            room = None
    if not people and room is None:
        if override and not booker.coordinator:
            raise NotAllowed("Only coordinators may book against availability.")
        return None
    against = _check_availability(starts_at=starts_at, ends_at=ends_at, people=people, room=room, override=override,
                                  booker=booker)
    if moved:
        return against
    return True if against else None


def meeting_check(
    *,
    meeting: Meeting | None,
    starts_at: datetime,
    ends_at: datetime,
    room: Room | None,
    participants: Sequence[ParticipantSpec],
    visit: Visit | None,
    override: bool = False,
    booker: Booker = Booker(),
) -> None:
    """What ``meeting_create`` (``meeting`` None) or ``meeting_change`` would refuse about the people and
    the room, without writing: overlaps for everyone the meeting occupies, then availability. For forms
    that show the refusal on their fields before saving (the admin); the write asks again."""
    delegation = _delegation(visit)
    wanted = [replace(p, exclusive=p.person.pk in delegation) for p in participants]
    blockers = blocking_people(wanted, delegation=delegation)
    event_services.meeting_overlap_check(starts_at=starts_at, ends_at=ends_at, room_id=None,
                                         person_ids=[p.pk for p in blockers],
                                         exclude_meeting_id=meeting.pk if meeting else None)
    if meeting is None or meeting.pk is None:
        _check_availability(starts_at=starts_at, ends_at=ends_at, people=blockers, room=room, override=override,
                            booker=booker)
        return
    meeting = Meeting.objects.get(pk=meeting.pk)  # as stored: a form's instance already holds the new values
    current_visit = _visit_of(meeting)
    current = [ParticipantSpec(person=p.person, role=p.role, exclusive=p.exclusive)
               for p in meeting.participations.select_related("person")]
    _change_availability(meeting=meeting, changes={"starts_at": starts_at, "ends_at": ends_at, "room": room},
                         participants=wanted, before=blocking_people(current, delegation=_delegation(current_visit)),
                         delegation=delegation, override=override, booker=booker)


@transaction.atomic
def meeting_change(
    *,
    meeting: Meeting,
    changes: Mapping[str, Any] | None = None,
    participants: Sequence[ParticipantSpec] | None = None,
    agenda_items: Sequence[AgendaSpec] | None = None,
    visit: Visit | _Unchanged | None = UNCHANGED,
    override: bool = False,
    booker: Booker = Booker(),
    guard: Callable[[Meeting], None] | None = None,
) -> Meeting:
    """Change a meeting: fields (``events.services.EDITABLE_FIELDS``), the whole participant list, the
    agenda, and/or its programme (``visit``; ``None`` takes it out of any). ``None`` leaves a part as it is.

    ``guard`` runs on the locked, fresh row before anything is written (the API's ``If-Match``).
    """
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if guard is not None:
        guard(meeting)
    changes = dict(changes or {})
    current_visit = _visit_of(meeting)
    target_visit = current_visit if visit is UNCHANGED else visit
    if isinstance(target_visit, Visit) and target_visit != current_visit:
        target_visit = _open_visit(target_visit)
    current = [ParticipantSpec(person=p.person, role=p.role, exclusive=p.exclusive)
               for p in meeting.participations.select_related("person")]
    before = blocking_people(current, delegation=_delegation(current_visit))
    wanted = _sorted(participants) if participants is not None else current
    delegation = _delegation(target_visit)
    if participants is not None or visit is not UNCHANGED:
        wanted = [replace(p, exclusive=p.person.pk in delegation) for p in wanted]
    against = None
    if not meeting.is_cancelled:
        against = _change_availability(meeting=meeting, changes=changes, participants=wanted, before=before,
                                       delegation=delegation, override=override, booker=booker)
    _record(meeting, against)
    if changes:
        meeting = event_services.meeting_update(meeting=meeting, **changes)
    if participants is not None:
        event_services.participants_replace(meeting=meeting, participants=wanted)
    if agenda_items is not None:
        event_services.agenda_replace(meeting=meeting, items=agenda_items)
    if visit is not UNCHANGED:
        ProgrammeSlot.objects.filter(meeting=meeting).exclude(visit=target_visit).delete()
        if isinstance(target_visit, Visit):
            ProgrammeSlot.objects.get_or_create(meeting=meeting, defaults={"visit": target_visit})
    if participants is not None or visit is not UNCHANGED:
        # A member already busy at that time makes this a ScheduleConflict naming the other meeting.
        event_services.participants_set_exclusive(meeting=meeting, person_ids=delegation)
    return meeting


def meeting_reschedule(*, meeting: Meeting, starts_at: datetime, ends_at: datetime, override: bool = False,
                       booker: Booker = Booker(), guard: Callable[[Meeting], None] | None = None) -> Meeting:
    """Move a meeting in time (the planner's drag and keys, the API's ``reschedule``)."""
    return meeting_change(meeting=meeting, changes={"starts_at": starts_at, "ends_at": ends_at}, override=override,
                          booker=booker, guard=guard)


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, guard: Callable[[Meeting], None] | None = None) -> Meeting:
    """Cancel (idempotent): participants are told with METHOD:CANCEL; the row stays for the feeds."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if guard is not None:
        guard(meeting)
    return event_services.meeting_cancel(meeting=meeting)


def meeting_answer(*, participation: Participation, answer: str) -> Participation:
    """Record a participant's answer (accepted, declined, tentative) from any channel: the API, the
    staff page, the signed link in a mail (and, later, a calendar client's reply)."""
    return event_services.participant_rsvp(participation=participation, answer=answer)


@transaction.atomic
def meeting_delegate(*, participation: Participation, delegate: Person, booker: Booker = COORDINATOR) -> Participation:
    """An attendee hands their place to someone else (iTIP ``DELEGATED-TO``, once a coordinator has
    confirmed it): the delegate joins with the delegator's role — checked like anyone added to the
    meeting (overlaps, availability) — and the delegator's answer is recorded as declined, since they
    will not come; they stay on the list and keep hearing of changes (RFC 5546 §2.2.3 keeps the
    delegator informed). Returns the delegate's participation."""
    meeting = Meeting.objects.select_for_update().get(pk=participation.meeting_id)
    if meeting.is_cancelled:
        raise MeetingCancelled("This meeting was cancelled; nobody can take a place in it.")
    current = [ParticipantSpec(person=p.person, role=p.role, exclusive=p.exclusive)
               for p in meeting.participations.select_related("person")]
    if not any(p.person.pk == delegate.pk for p in current):
        meeting_change(meeting=meeting, participants=[*current, ParticipantSpec(person=delegate, role=participation.role)],
                       booker=booker)
    delegator = Participation.objects.get(pk=participation.pk)
    meeting_answer(participation=delegator, answer=Participation.Rsvp.DECLINED)
    return Participation.objects.get(meeting=meeting, person=delegate)


def meeting_answer_reset(*, meeting_id: int, person_id: int, answered_before: datetime) -> bool:
    """Ask again: an answer given before the participant was told of a change of time or place
    no longer stands (RFC 5546 §2.1.4). Called once the update has been sent."""
    return event_services.participant_rsvp_reset(meeting_id=meeting_id, person_id=person_id,
                                                 answered_before=answered_before)


# --- a whole programme ---------------------------------------------------------------------------


def programme_cancel(*, visit: Visit) -> int:
    """Cancel every scheduled meeting of ``visit``'s programme (the visit was declined or cancelled);
    call inside the transaction that closes the visit. Returns how many were cancelled."""
    meetings = list(Meeting.objects.filter(programme_slot__visit=visit, status=Meeting.Status.SCHEDULED))
    for meeting in meetings:
        event_services.meeting_cancel(meeting=meeting)
    return len(meetings)


@dataclass(frozen=True)
class BookingSpec:
    """One computed suggestion to book: a solver's assignment or a proposal's item."""

    key: str
    title: str
    starts_at: datetime
    ends_at: datetime
    room: Room | None
    participants: Sequence[ParticipantSpec]
    kind: str = Meeting.Kind.MEETING
    location: str = ""
    description: str = ""
    agenda: Sequence[AgendaSpec] = ()
    #: people who must be free (hosts and the delegation); optional guests may be busy
    required: Sequence[int] = ()
    #: the part it plays in a visit's programme (``visits.models.ProgrammeKind``; blank: none said)
    programme_kind: str = ""


def _spans_json(spans: Iterable[tuple[datetime, datetime]]) -> list[dict[str, str]]:
    return [{"starts_at": a.isoformat(), "ends_at": b.isoformat()} for a, b in spans]


def _refuse_if_world_changed(spec: BookingSpec, *, delegation: Collection[int]) -> None:
    """Suggestions are computed before they are booked: the people the meeting would occupy (and those
    the suggestion required) and the room must still be free — of any meeting, absence, working hours,
    imported busy time or closure — or nothing is booked."""
    required = {*spec.required, *(p.pk for p in blocking_people(spec.participants, delegation=delegation))}
    busy = busy_intervals(people=sorted(required), rooms=[spec.room.pk] if spec.room else [], start=spec.starts_at,
                          end=spec.ends_at)
    blocked: list[dict[str, object]] = []
    names = dict(Person.objects.filter(pk__in=[p for p, spans in busy.people.items() if spans])
                 .values_list("pk", "name"))
    for person_id, spans in sorted(busy.people.items()):
        if spans:
            blocked.append({"person": person_id, "name": names.get(person_id, ""), "busy": _spans_json(spans)})
    for room_id, spans in busy.rooms.items():
        if spans:
            blocked.append({"room": room_id, "name": spec.room.name if spec.room else "", "busy": _spans_json(spans)})
    if blocked:
        who = ", ".join(str(b["name"]) for b in blocked)
        raise WorldChanged(
            gettext("“%(title)s” can no longer be booked: %(who)s became busy since the schedule was computed.")
            % {"title": spec.title, "who": who},
            detail={"key": spec.key, "blocked": blocked},
        )


def booking_fields(spec: BookingSpec, *, timezone: str) -> dict[str, Any]:
    return dict(title=spec.title, starts_at=spec.starts_at, ends_at=spec.ends_at, timezone=timezone, room=spec.room,
                location=spec.location, kind=spec.kind, description=spec.description)


def programme_has_meetings(visit: Visit) -> bool:
    return Meeting.objects.filter(programme_slot__visit=visit, status=Meeting.Status.SCHEDULED).exists()


def _release_programme(visit: Visit) -> None:
    """The first booked programme (a proposal accepted, a batch booked) goes to the delegation as one
    mail: mark it released unless it was already (later bookings are changes, told as updates)."""
    Visit.objects.filter(pk=visit.pk, programme_sent_at__isnull=True).update(programme_sent_at=djtz.now())


@transaction.atomic
def programme_book(*, bookings: Sequence[BookingSpec], timezone: str, visit: Visit | None = None) -> list[Meeting]:
    """Book every suggestion or none, in time order, each re-checked against the world as it is now
    (``WorldChanged`` names who became busy), then booked like any other meeting (availability,
    overlaps, the delegation's exclusivity). A visit's first booked programme is released to its
    delegation (``Visit.programme_sent_at``)."""
    created = []
    delegation = _delegation(visit)
    for spec in sorted(bookings, key=lambda b: (b.starts_at, b.key)):
        _refuse_if_world_changed(spec, delegation=delegation)
        created.append(meeting_create(visit=visit, participants=spec.participants, agenda_items=list(spec.agenda),
                                      booker=COORDINATOR, programme_kind=spec.programme_kind if visit else "",
                                      **booking_fields(spec, timezone=timezone)))
    if visit is not None and created:
        _release_programme(visit)
    return created
