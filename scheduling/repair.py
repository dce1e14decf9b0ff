"""Repairing a proposal after the world changed: a host declined or became unavailable, a meeting was cancelled.

``affected_items`` finds what no longer works and why; ``proposal_repair`` re-solves only those
items (everything else held in place), swaps in the next expert when a host is gone, and moves or
re-books the affected meetings so participants hear about it through the usual mails.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import cast

from django.db import transaction
from django.utils.translation import gettext

from availability.intervals import overlaps
from directory.models import Person
from events.models import Meeting, Participation
from visits import booking
from visits.models import ProgrammeKind

from .booking import booking_for_item
from .busy import busy_for
from .models import Proposal, ProposalItem
from .proposals import check_visit_open, frame_bounds, items_of, open_for_change, solve_into
from .values import ItemParticipant


def affected_items(proposal: Proposal) -> dict[str, str]:
    """Items that no longer work, with why: a host declined, is now busy (absent…), or the meeting was cancelled."""
    frame = proposal.settings
    items = [i for i in items_of(proposal) if not i.removed and i.placed and not i.spec.dead_reason]
    booked = [i.meeting_id for i in items if i.meeting_id]
    declined = set(
        Participation.objects.filter(meeting_id__in=booked, rsvp=Participation.Rsvp.DECLINED)
        .values_list("meeting_id", "person_id")
    )
    people = {p for i in items for p in i.spec.required}
    bounds = frame_bounds(frame)
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
        gone = [p for p in item.spec.required if (item.meeting_id, p) in declined]
        if gone:
            out[item.key] = gettext("%(names)s declined") % {"names": ", ".join(names.get(p, "") for p in gone)}
            continue
        starts, ends = item.starts_at, item.ends_at
        assert starts is not None and ends is not None  # placed items only
        clash = [p for p in item.spec.required if overlaps(busy_people.get(p, []), starts, ends)]
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
    spec = item.spec
    host = spec.host
    if item.kind != ProgrammeKind.TOPIC or host is None or host not in unavailable:
        return True
    spare = [p for p in spec.experts if p not in unavailable and p != host]
    if not spare:
        return False
    new_host = spare[0]
    delegation = tuple(p for p in spec.required if p != host)
    item.spec = replace(
        spec, host=new_host, required=(new_host, *delegation), optional=tuple(p for p in spec.optional if p != new_host),
        experts=(*(p for p in spec.experts if p != host), host),
    )
    item.participants = (ItemParticipant(new_host, "host"),
                         *(x for x in item.participants if x.person not in (host, new_host)))
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
    proposal = open_for_change(proposal)
    check_visit_open(proposal.visit)
    affected = affected_items(proposal)
    if not affected:
        return proposal, {}
    items = {i.key: i for i in items_of(proposal)}
    declined = set(
        Participation.objects.filter(meeting_id__in=[i.meeting_id for i in items.values() if i.meeting_id],
                                     rsvp=Participation.Rsvp.DECLINED).values_list("meeting_id", "person_id")
    )
    for key in affected:
        item = items[key]
        gone = {p for m, p in declined if m == item.meeting_id}
        if gone and _swap_host(item, gone):
            item.save(update_fields=["spec", "participants"])
    placed = solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=set(affected))
    still = [i for i in items_of(proposal) if i.key in affected and i.key not in placed]
    if still:
        bounds = frame_bounds(proposal.settings)
        hosts = {i.spec.host for i in still if i.spec.host}
        busy_people, _ = busy_for(people=hosts, rooms=[], start=bounds[0][0], end=bounds[-1][1],
                                  exclude_meetings=[i.meeting_id for i in items.values() if i.meeting_id])
        swapped = False
        for item in still:
            host = item.spec.host
            if host and busy_people.get(host) and _swap_host(item, {host}):
                item.save(update_fields=["spec", "participants"])
                swapped = True
        if swapped:
            placed = solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=set(affected))
    _apply_repair(proposal, set(affected) & placed)
    return proposal, affected


def _apply_repair(proposal: Proposal, moved: set[str]) -> None:
    items = items_of(proposal)
    people = {p.pk: p for p in Person.objects.filter(pk__in={x.person for i in items for x in i.participants})}
    frame = proposal.settings
    for item in items:
        if item.key not in moved or not item.meeting_id:
            continue
        meeting = item.meeting
        assert meeting is not None  # meeting_id is set
        if meeting.status == Meeting.Status.CANCELLED:
            [item.meeting] = booking.programme_book(bookings=[booking_for_item(item, people)],
                                                    timezone=frame.timezone, visit=proposal.visit)
            item.save(update_fields=["meeting"])
            continue
        placed_elsewhere = (meeting.starts_at, meeting.ends_at, meeting.room_id) != (
            item.starts_at, item.ends_at, item.room_id)
        host = item.spec.host
        booking.meeting_change(
            meeting=meeting,
            changes={"starts_at": item.starts_at, "ends_at": item.ends_at, "room": item.room}
            if placed_elsewhere else None,
            participants=[booking.ParticipantSpec(person=people[x.person], role=x.role) for x in item.participants],
            agenda_items=[booking.AgendaSpec(title=item.topic.name, topic=item.topic, presenter=people[host],
                                             minutes=item.spec.duration_minutes)]
            if item.topic is not None and host is not None and host in people else None,
            booker=booking.COORDINATOR,
        )
