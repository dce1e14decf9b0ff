"""Writes (and the solving that leads to them): batch solve and book, visit programme proposals.

Solving never books: ``batch_solve`` and the proposal functions only compute and store suggestions.
Booking (``batch_book``, ``proposal_accept``, ``proposal_repair``) goes through ``events.services`` /
``visits.services`` in one transaction, after re-reading every person's and room's busy time: if the
world changed since the suggestion was computed, nothing is booked and the caller gets a 409 naming
who or what became busy. Invitations follow as for any other meeting (the notifications
reconciliation sees new meetings in a confirmed visit's programme).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, cast

from django.db import transaction
from django.utils import dateformat
from django.utils import timezone as djtz
from django.utils.translation import gettext

from core.errors import ValidationFailed
from directory.models import Person
from events import services as event_services
from events.models import Meeting, Participation, Room
from visits import services as visit_services
from visits.models import Visit

from . import programme as P
from .busy import busy_for, with_programme
from .errors import ProposalClosed, WorldChanged
from .models import Proposal, ProposalItem
from .problem import Assignment, Pin, Problem, ProblemError, Solution
from .problems import BatchRequest, batch_problem, check_frame, day_bounds, names_of, room_specs, rooms_for
from .search import solve
from .unplaced import in_languages

#: [start, end) of busy or free time.
Span = tuple[datetime, datetime]
#: Busy spans by person id and by room id (``busy_for``).
World = tuple[dict[int, list[Span]], dict[int, list[Span]]]

# --- batch -------------------------------------------------------------------------------------


def batch_solve(*, request: BatchRequest) -> Solution:
    """Solve a batch of meetings against the stored world; books nothing."""
    problem = batch_problem(request)
    try:
        return solve(problem)
    except ProblemError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


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


def _refuse_if_busy(spec: BookingSpec, *, required: Sequence[int], exclude_meetings: Sequence[int] = ()) -> None:
    """The 'world changed' check: required people and the room must still be free for this slot."""
    people, rooms = busy_for(people=required, rooms=[spec.room.pk] if spec.room else [], start=spec.starts_at,
                             end=spec.ends_at, exclude_meetings=exclude_meetings)
    blocked = []
    names = dict(Person.objects.filter(pk__in=[p for p, spans in people.items() if spans]).values_list("pk", "name"))
    for person_id, spans in sorted(people.items()):
        if spans:
            blocked.append({"person": person_id, "name": names.get(person_id, ""), "busy": _spans_json(spans)})
    for room_id, spans in rooms.items():
        if spans:
            blocked.append({"room": room_id, "name": spec.room.name if spec.room else "", "busy": _spans_json(spans)})
    if blocked:
        who = ", ".join(str(b["name"]) for b in blocked)
        raise WorldChanged(
            gettext("“%(title)s” can no longer be booked: %(who)s became busy since the schedule was computed.")
            % {"title": spec.title, "who": who},
            detail={"key": spec.key, "blocked": blocked},
        )


def _spans_json(spans: Iterable[Span]) -> list[dict[str, str]]:
    return [{"starts_at": a.isoformat(), "ends_at": b.isoformat()} for a, b in spans]


@transaction.atomic
def batch_book(*, bookings: Sequence[BookingSpec], timezone: str, visit: Visit | None = None) -> list[Meeting]:
    """Create every meeting or none: each is re-checked against the world as it is now."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{timezone!r} is not an IANA time zone name.", field="timezone") from None
    created = []
    for spec in sorted(bookings, key=lambda b: (b.starts_at, b.key)):
        required = [p.person.pk for p in spec.participants if p.role in Participation.BLOCKING_ROLES]
        _refuse_if_busy(spec, required=required)
        created.append(_create(spec, timezone=timezone, visit=visit))
    return created


def _create(spec: BookingSpec, *, timezone: str, visit: Visit | None) -> Meeting:
    fields: dict[str, Any] = dict(
        title=spec.title, starts_at=spec.starts_at, ends_at=spec.ends_at, timezone=timezone, room=spec.room,
        location=spec.location, kind=spec.kind, description=spec.description,
        participants=sorted(spec.participants, key=lambda p: p.person.pk), agenda_items=list(spec.agenda),
    )
    if visit is not None:
        return visit_services.programme_meeting_create(visit=visit, **fields)
    return event_services.meeting_create(**fields)


# --- proposals ---------------------------------------------------------------------------------


def _bounds(frame: P.Frame) -> tuple[Span, ...]:
    return day_bounds(frame.days, frame.day_start, frame.day_end, frame.timezone)


def _world(frame: P.Frame, people: set[int], *, visit_id: int, exclude_meetings: Sequence[int] = ()) -> World:
    bounds = _bounds(frame)
    start, end = bounds[0][0], bounds[-1][1]
    busy_people, busy_rooms = busy_for(people=people, rooms=frame.rooms, start=start, end=end,
                                       exclude_meetings=exclude_meetings)
    busy_people = with_programme(busy_people, visit_id=visit_id, delegation=frame.delegation, start=start, end=end,
                                 exclude_meetings=exclude_meetings)
    return busy_people, busy_rooms


def _check_open(visit: Visit) -> None:
    if visit.status not in (Visit.Status.REQUESTED, Visit.Status.CONFIRMED):
        raise ValidationFailed(gettext("Visit %(reference)s is %(status)s; its programme is closed.") % {
            "reference": visit.reference, "status": visit.get_status_display()}, field="visit")


@transaction.atomic
def proposal_create(
    *, visit: Visit, by: Person | None = None, time_limit_seconds: float = 5.0, rooms: list[int] | None = None,
    day_start: time = P.DAY_START, day_end: time = P.DAY_END,
) -> Proposal:
    """Build the visit's programme problem, solve it and store the result as a draft proposal."""
    _check_open(visit)
    if rooms is not None:
        rooms_for(rooms)
    frame = P.visit_frame(visit, rooms=rooms, day_start=day_start, day_end=day_end)
    check_frame(tz=frame.timezone, days=frame.days, day_start=frame.day_start, day_end=frame.day_end,
                granularity=frame.granularity_minutes)
    topics = list(visit.topics.all())
    frame.covered = P.existing_programme(visit, topics)
    expert_ids = set(Person.objects.filter(expertise__in=topics).values_list("pk", flat=True))
    people = set(frame.delegation) | expert_ids | ({frame.coordinator} if frame.coordinator else set())
    busy_people, busy_rooms = _world(frame, people, visit_id=visit.pk)
    drafts = P.draft_items(visit, frame, busy_people=busy_people, bounds=_bounds(frame))
    proposal = Proposal.objects.create(visit=visit, created_by=by, settings=frame.as_json())
    ProposalItem.objects.bulk_create(
        ProposalItem(proposal=proposal, key=d.key, position=d.position, title=d.title, kind=d.kind, topic=d.topic,
                     location=d.location, participants=d.participants, spec=d.spec)
        for d in drafts
    )
    _solve_into(proposal, time_limit_seconds=time_limit_seconds, world=(busy_people, busy_rooms))
    return proposal


def _items(proposal: Proposal) -> list[ProposalItem]:
    return list(proposal.items.select_related("room", "meeting", "topic").order_by("position", "id"))


def _solve_into(proposal: Proposal, *, time_limit_seconds: float, world: World | None = None,
                only: set[str] | None = None) -> set[str]:
    """Solve the proposal's live items and store times, rooms and reasons.

    Pinned items and booked ones stay where they are; with ``only`` every item outside it is held
    in place too (a repair moves only what is affected).
    """
    frame = P.Frame.from_json(proposal.settings)
    items = _items(proposal)
    live = [i for i in items if not i.removed and "dead_reason" not in i.spec]
    booked = [i.meeting.pk for i in live if i.meeting is not None and i.meeting.status == Meeting.Status.SCHEDULED]
    people = {p for i in live for p in (*i.spec["required"], *i.spec["optional"])}
    if world is None or booked:
        world = _world(frame, people, visit_id=proposal.visit_id, exclude_meetings=booked)
    busy_people, busy_rooms = world
    rooms = rooms_for(frame.rooms)
    specs = []
    for item in live:
        pin = None
        held = item.pinned or (only is not None and item.key not in only)
        if item.meeting is not None and item.meeting.status == Meeting.Status.SCHEDULED and (
                only is None or item.key not in only):
            pin = Pin(item.meeting.starts_at, item.meeting.room_id)
        elif held and item.starts_at:
            pin = Pin(item.starts_at, item.room_id)
        specs.append(P.meeting_spec(item.key, item.title, item.spec, pin=pin))
    keys = {s.key for s in specs}
    problem = Problem(
        days=_bounds(frame), rooms=room_specs(rooms), meetings=tuple(specs),
        granularity_minutes=frame.granularity_minutes, timezone=frame.timezone,
        busy_people=busy_people, busy_rooms=busy_rooms, people_names=names_of(people | set(frame.delegation)),
        delegation=tuple(frame.delegation),
        precedence=tuple(p for p in frame.precedence if p[0] in keys and p[1] in keys),
        time_limit_seconds=time_limit_seconds,
    )
    solution = solve(problem)
    by_key = {a.key: a for a in solution.assignments}
    reasons = {u.key: u.reasons or {"en": u.reason} for u in solution.unplaced}
    names = problem.people_names
    for item in items:
        if item.removed:
            continue
        if "dead_reason" in item.spec:
            item.starts_at = item.ends_at = item.room = None
            topic = item.topic.name if item.topic else item.title
            item.reasons = in_languages(lambda topic=topic: gettext(  # type: ignore[misc]
                "nobody has expertise in %(topic)s (add it to a person's expertise)") % {"topic": topic})
        elif item.key in by_key:
            a = by_key[item.key]
            item.starts_at, item.ends_at = a.starts_at, a.ends_at
            item.room = rooms.get(a.room) if a.room else None
            item.reasons = in_languages(lambda item=item, a=a: _reason(  # type: ignore[misc]
                item, a, frame=frame, busy_people=busy_people, names=names, room=item.room, bounds=problem.days))
        else:
            if not item.meeting_id:
                item.starts_at = item.ends_at = item.room = None
            item.reasons = reasons.get(item.key) or in_languages(lambda: gettext("not placed"))
        item.reason = item.reasons.get("en") or next(iter(item.reasons.values()), "")
    ProposalItem.objects.bulk_update(items, ["starts_at", "ends_at", "room", "reason", "reasons"])
    proposal.solver_status = solution.status
    proposal.objective = {**solution.objective, "solve_seconds": solution.solve_seconds}
    proposal.save(update_fields=["solver_status", "objective", "updated_at"])
    return set(by_key)


def _free_around(busy: list[Span], a: datetime, b: datetime, bounds: Sequence[Span]) -> Span:
    """The person's free stretch (inside that day's bounds) that contains [a, b)."""
    day = next(((x, y) for x, y in bounds if x <= a < y), (a, b))
    lo, hi = day
    for x, y in busy:
        if y <= a and y > lo:
            lo = y
        if x >= b and x < hi:
            hi = x
    return max(lo, day[0]), min(hi, day[1])


def _reason(item: ProposalItem, a: Assignment, *, frame: P.Frame, busy_people: dict[int, list[Span]],
            names: Mapping[int, str], room: Room | None, bounds: Sequence[Span]) -> str:
    zone = zoneinfo.ZoneInfo(frame.timezone)
    role = item.spec.get("role")
    parts = []
    if item.pinned:
        parts.append(gettext("pinned by the coordinator"))
    if item.meeting_id:
        parts.append(gettext("booked"))
    if role == "topic":
        host = item.spec["host"]
        lo, hi = _free_around(busy_people.get(host, []), a.starts_at, a.ends_at, bounds)
        lo, hi = lo.astimezone(zone), hi.astimezone(zone)
        topic = item.topic.name if item.topic else item.title
        parts.append(gettext("%(host)s: expertise in %(topic)s; free %(day)s %(start)s–%(end)s") % {
            "host": names.get(host, gettext("host")), "topic": topic, "day": dateformat.format(lo, "D"),
            "start": f"{lo:%H:%M}", "end": f"{hi:%H:%M}"})
        if item.spec.get("optional"):
            parts.append(gettext("also invited (optional): %(names)s") % {
                "names": ", ".join(names.get(p, "") for p in item.spec["optional"])})
    elif role == "welcome":
        parts.append(gettext("opens the visit on the first morning, before every topic meeting"))
    elif role == "wrap-up":
        parts.append(gettext("closes the visit on the last day, after every topic meeting"))
    elif role == "lunch":
        parts.append(gettext("lunch for the delegation inside 11:30–14:00"))
    if room is not None:
        parts.append(gettext("%(room)s: fits %(n)s (%(seats)s seats)") % {
            "room": room.name, "n": item.spec.get("min_capacity") or frame.seats, "seats": room.capacity})
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _open(proposal: Proposal) -> Proposal:
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status == Proposal.Status.DISCARDED:
        raise ProposalClosed(gettext("This proposal was discarded; make a new one."))
    return proposal


@transaction.atomic
def proposal_resolve(*, proposal: Proposal, time_limit_seconds: float = 5.0) -> Proposal:
    """Solve again: pinned and booked items stay, removed ones are left out, the rest may move."""
    proposal = _open(proposal)
    _check_open(proposal.visit)
    _solve_into(proposal, time_limit_seconds=time_limit_seconds)
    return proposal


@transaction.atomic
def proposal_item_update(*, item: ProposalItem, pinned: bool | None = None, removed: bool | None = None) -> ProposalItem:
    _open(item.proposal)
    if pinned is not None:
        if pinned and not item.placed:
            raise ValidationFailed(gettext("Only a placed item can be pinned."), field="pinned")
        item.pinned = pinned
    if removed is not None:
        if removed and item.meeting_id:
            raise ValidationFailed(gettext("This item is booked; cancel its meeting instead."), field="removed")
        item.removed = removed
        if removed:
            item.pinned = False
    item.save(update_fields=["pinned", "removed"])
    return item


@transaction.atomic
def proposal_discard(*, proposal: Proposal) -> Proposal:
    proposal = _open(proposal)
    proposal.status = Proposal.Status.DISCARDED
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


def _booking(item: ProposalItem, people: dict[int, Person]) -> BookingSpec:
    assert item.starts_at is not None and item.ends_at is not None  # only placed items are booked
    participants = [event_services.ParticipantSpec(person=people[p["person"]], role=p["role"])
                    for p in item.participants]
    agenda = []
    if item.topic is not None:
        host = people.get(item.spec.get("host"))
        agenda = [event_services.AgendaSpec(title=item.topic.name, topic=item.topic, presenter=host,
                                            minutes=item.spec["duration_minutes"])]
    # No description: the reason speaks of hosts' free time, which is not for the invitees' eyes.
    return BookingSpec(key=item.key, title=item.title, starts_at=item.starts_at, ends_at=item.ends_at,
                       room=item.room, participants=participants, kind=item.kind, location=item.location,
                       agenda=agenda)


@transaction.atomic
def proposal_accept(*, proposal: Proposal, item_ids: Sequence[int] | None = None) -> Proposal:
    """Book the chosen items (default: every placed, kept, not yet booked one) as programme meetings."""
    proposal = _open(proposal)
    visit = Visit.objects.get(pk=proposal.visit_id)
    _check_open(visit)
    items = _items(proposal)
    if item_ids is not None:
        known = {i.pk for i in items}
        unknown = [i for i in item_ids if i not in known]
        if unknown:
            raise ValidationFailed(gettext("Item %(id)s is not part of this proposal.") % {"id": unknown[0]},
                                   field="items")
        chosen = [i for i in items if i.pk in set(item_ids)]
        bad = next((i for i in chosen if i.removed or not i.placed or i.meeting_id), None)
        if bad is not None:
            raise ValidationFailed(gettext("“%(title)s” is removed, unplaced or already booked.") % {
                "title": bad.title}, field="items")
    else:
        chosen = [i for i in items if not i.removed and i.placed and not i.meeting_id]
    people = {p.pk: p for p in Person.objects.filter(pk__in={x["person"] for i in chosen for x in i.participants})}
    for item in sorted(chosen, key=lambda i: (i.starts_at, i.position)):
        spec = _booking(item, people)
        _refuse_if_busy(spec, required=item.spec["required"])
        item.meeting = _create(spec, timezone=proposal.settings["timezone"], visit=visit)
        item.save(update_fields=["meeting"])
    proposal.status = Proposal.Status.ACCEPTED
    proposal.accepted_at = proposal.accepted_at or djtz.now()
    proposal.save(update_fields=["status", "accepted_at", "updated_at"])
    return proposal


# --- repair ------------------------------------------------------------------------------------


def affected_items(proposal: Proposal) -> dict[str, str]:
    """Items that no longer work, with why: a host declined, is now busy (absent…), or the meeting was cancelled."""
    frame = P.Frame.from_json(proposal.settings)
    items = [i for i in _items(proposal) if not i.removed and i.placed and "dead_reason" not in i.spec]
    booked = [i.meeting_id for i in items if i.meeting_id]
    declined = set(
        Participation.objects.filter(meeting_id__in=booked, rsvp=Participation.Rsvp.DECLINED)
        .values_list("meeting_id", "person_id")
    )
    people = {p for i in items for p in i.spec["required"]}
    bounds = _bounds(frame)
    # Placed items only (above), so every one has its times.
    start = min([bounds[0][0], *(cast(datetime, i.starts_at) for i in items)])
    end = max([bounds[-1][1], *(cast(datetime, i.ends_at) for i in items)])
    # Busy time *other than this proposal's own meetings*: absences, hours, other bookings.
    busy_people, busy_rooms = busy_for(people=people, rooms=[i.room_id for i in items if i.room_id],
                                       start=start, end=end, exclude_meetings=booked)
    names = dict(Person.objects.filter(pk__in=people).values_list("pk", "name"))
    out: dict[str, str] = {}
    for item in items:
        if item.meeting is not None and item.meeting.status == Meeting.Status.CANCELLED:
            out[item.key] = gettext("its meeting was cancelled")
            continue
        gone = [p for p in item.spec["required"] if (item.meeting_id, p) in declined]
        if gone:
            out[item.key] = gettext("%(names)s declined") % {"names": ", ".join(names.get(p, "") for p in gone)}
            continue
        starts, ends = item.starts_at, item.ends_at
        assert starts is not None and ends is not None  # placed items only
        clash = [p for p in item.spec["required"]
                 if any(a < ends and starts < b for a, b in busy_people.get(p, []))]
        if clash:
            out[item.key] = gettext("%(names)s is no longer free then") % {
                "names": ", ".join(names.get(p, "") for p in clash)}
            continue
        if item.room_id and any(a < ends and starts < b for a, b in busy_rooms.get(item.room_id, [])):
            room = item.room
            assert room is not None
            out[item.key] = gettext("%(names)s is no longer free then") % {"names": room.name}
    return out


def _swap_host(item: ProposalItem, unavailable: set[int]) -> bool:
    """Give a topic item the next expert when its host dropped out; False if there is none."""
    spec = dict(item.spec)
    host = spec.get("host")
    if spec.get("role") != "topic" or host not in unavailable:
        return True
    spare = [p for p in spec.get("experts", []) if p not in unavailable and p != host]
    if not spare:
        return False
    new_host = spare[0]
    delegation = [p for p in spec["required"] if p != host]
    spec["host"] = new_host
    spec["required"] = [new_host, *delegation]
    spec["optional"] = [p for p in spec["optional"] if p != new_host]
    spec["experts"] = [p for p in spec["experts"] if p != host] + [host]
    item.spec = spec
    item.participants = [{"person": new_host, "role": "host"}] + [
        x for x in item.participants if x["person"] not in (host, new_host)
    ]
    return True


@transaction.atomic
def proposal_repair(*, proposal: Proposal, time_limit_seconds: float = 5.0) -> tuple[Proposal, dict[str, str]]:
    """Re-solve only the affected items (everything else held in place) and move booked meetings.

    A topic whose host declined gets the next expert for it; one whose host became unavailable (an
    absence, other commitments) first tries another time with the same host and only then another
    expert. Booked meetings that changed are updated through ``events.services``, so participants
    hear about it through the usual update and cancel mails; an affected item that finds no new
    place keeps its meeting and says why.
    """
    proposal = _open(proposal)
    _check_open(proposal.visit)
    affected = affected_items(proposal)
    if not affected:
        return proposal, {}
    items = {i.key: i for i in _items(proposal)}
    declined = set(
        Participation.objects.filter(meeting_id__in=[i.meeting_id for i in items.values() if i.meeting_id],
                                     rsvp=Participation.Rsvp.DECLINED).values_list("meeting_id", "person_id")
    )
    for key in affected:
        item = items[key]
        gone = {p for m, p in declined if m == item.meeting_id}
        if gone and _swap_host(item, gone):
            item.save(update_fields=["spec", "participants"])
    placed = _solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=set(affected))
    still = [i for i in _items(proposal) if i.key in affected and i.key not in placed]
    if still:
        frame = P.Frame.from_json(proposal.settings)
        bounds = _bounds(frame)
        hosts = {i.spec.get("host") for i in still if i.spec.get("host")}
        busy_people, _ = busy_for(people=hosts, rooms=[], start=bounds[0][0], end=bounds[-1][1],
                                  exclude_meetings=[i.meeting_id for i in items.values() if i.meeting_id])
        swapped = False
        for item in still:
            host = item.spec.get("host")
            if host and busy_people.get(host) and _swap_host(item, {host}):
                item.save(update_fields=["spec", "participants"])
                swapped = True
        if swapped:
            placed = _solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=set(affected))
    _apply_repair(proposal, set(affected) & placed)
    return proposal, affected


def _apply_repair(proposal: Proposal, moved: set[str]) -> None:
    items = _items(proposal)
    people = {p.pk: p for p in Person.objects.filter(pk__in={x["person"] for i in items for x in i.participants})}
    frame = P.Frame.from_json(proposal.settings)
    for item in items:
        if item.key not in moved or not item.meeting_id:
            continue
        meeting = item.meeting
        assert meeting is not None  # meeting_id is set
        if meeting.status == Meeting.Status.CANCELLED:
            spec = _booking(item, people)
            _refuse_if_busy(spec, required=item.spec["required"])
            item.meeting = _create(spec, timezone=frame.timezone, visit=proposal.visit)
            item.save(update_fields=["meeting"])
            continue
        event_services.participants_replace(
            meeting=meeting,
            participants=[event_services.ParticipantSpec(person=people[x["person"]], role=x["role"])
                          for x in sorted(item.participants, key=lambda x: x["person"])],
        )
        if (meeting.starts_at, meeting.ends_at, meeting.room_id) != (item.starts_at, item.ends_at, item.room_id):
            event_services.meeting_update(meeting=meeting, starts_at=item.starts_at, ends_at=item.ends_at,
                                          room=item.room)
        if item.topic is not None and item.spec.get("host") in people:
            event_services.agenda_replace(meeting=meeting, items=[event_services.AgendaSpec(
                title=item.topic.name, topic=item.topic, presenter=people[item.spec["host"]],
                minutes=item.spec["duration_minutes"])])
