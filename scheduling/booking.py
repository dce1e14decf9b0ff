"""Booking what was solved: the steps batch booking, proposal acceptance and repair share.

Each booking re-reads the busy time of its required people and room (``refuse_if_busy``): if the world
changed since the suggestion was computed, nothing is booked and the caller gets a 409
(``WorldChanged``) naming who or what became busy. ``book`` creates the meeting through
``events.services`` (standalone) or ``visits.services`` (in a visit's programme), so invitations follow
as for any other meeting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext

from availability.intervals import Interval
from directory.models import Person
from events import services as event_services
from events.models import Meeting, Room
from visits import services as visit_services
from visits.models import Visit

from .busy import busy_for
from .errors import WorldChanged
from .models import ProposalItem


@dataclass(frozen=True)
class BookingSpec:
    key: str
    title: str
    starts_at: datetime
    ends_at: datetime
    room: Room | None
    participants: Sequence[event_services.ParticipantSpec]
    kind: str = Meeting.Kind.MEETING
    location: str = ""
    description: str = ""
    agenda: Sequence[event_services.AgendaSpec] = ()
    #: The part it plays in a visit's programme (``visits.models.ProgrammeKind``; blank: none said).
    programme_kind: str = ""


def refuse_if_busy(spec: BookingSpec, *, required: Sequence[int], exclude_meetings: Sequence[int] = ()) -> None:
    """The 'world changed' check: required people and the room must still be free for this slot."""
    people, rooms = busy_for(people=required, rooms=[spec.room.pk] if spec.room else [], start=spec.starts_at,
                             end=spec.ends_at, exclude_meetings=exclude_meetings)
    blocked = []
    names = dict(Person.objects.filter(pk__in=[p for p, spans in people.items() if spans]).values_list("pk", "name"))
    for person_id, spans in sorted(people.items()):
        if spans:
            blocked.append({"person": person_id, "name": names.get(person_id, ""), "busy": spans_json(spans)})
    for room_id, spans in rooms.items():
        if spans:
            blocked.append({"room": room_id, "name": spec.room.name if spec.room else "", "busy": spans_json(spans)})
    if blocked:
        who = ", ".join(str(b["name"]) for b in blocked)
        raise WorldChanged(
            gettext("“%(title)s” can no longer be booked: %(who)s became busy since the schedule was computed.")
            % {"title": spec.title, "who": who},
            detail={"key": spec.key, "blocked": blocked},
        )


def spans_json(spans: Iterable[Interval]) -> list[dict[str, str]]:
    return [{"starts_at": a.isoformat(), "ends_at": b.isoformat()} for a, b in spans]


def book(spec: BookingSpec, *, timezone: str, visit: Visit | None) -> Meeting:
    fields: dict[str, Any] = dict(
        title=spec.title, starts_at=spec.starts_at, ends_at=spec.ends_at, timezone=timezone, room=spec.room,
        location=spec.location, kind=spec.kind, description=spec.description,
        participants=sorted(spec.participants, key=lambda p: p.person.pk), agenda_items=list(spec.agenda),
    )
    if visit is not None:
        return visit_services.programme_meeting_create(visit=visit, programme_kind=spec.programme_kind, **fields)
    return event_services.meeting_create(**fields)


def booking_for_item(item: ProposalItem, people: dict[int, Person]) -> BookingSpec:
    assert item.starts_at is not None and item.ends_at is not None  # only placed items are booked
    participants = [event_services.ParticipantSpec(person=people[p.person], role=p.role) for p in item.participants]
    agenda = []
    if item.topic is not None:
        host = people.get(item.spec.host) if item.spec.host is not None else None
        agenda = [event_services.AgendaSpec(title=item.topic.name, topic=item.topic, presenter=host,
                                            minutes=item.spec.duration_minutes)]
    # No description: the reason speaks of hosts' free time, which is not for the invitees' eyes.
    return BookingSpec(key=item.key, title=item.title, starts_at=item.starts_at, ends_at=item.ends_at,
                       room=item.room, participants=participants, kind=item.meeting_kind, location=item.location,
                       agenda=agenda, programme_kind=item.kind)
