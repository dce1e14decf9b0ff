"""A visit's programme proposal: create (solve and store), re-solve, pin or remove items, discard, accept.

Solving never books: ``proposal_create`` and ``proposal_resolve`` only compute and store suggestions
(``Proposal``, ``ProposalItem`` with a reason per item, ``scheduling.reasons``). ``proposal_accept``
books the chosen items as programme meetings in one transaction (``scheduling.booking``); the
notifications reconciliation then invites as for any other meeting in a confirmed visit's programme.
Repairing an accepted proposal after a host dropped out is ``scheduling.repair``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import time

from django.db import transaction
from django.utils import timezone as djtz
from django.utils import translation
from django.utils.translation import gettext

from availability.intervals import Interval
from core.errors import ValidationFailed
from directory.models import Person
from events.models import Meeting
from visits import booking, rules
from visits.models import Visit

from . import check
from . import programme as P
from .booking import booking_for_item
from .busy import busy_for, with_programme
from .deadline import Deadline
from .errors import ProposalClosed
from .models import Proposal, ProposalItem
from .problem import BreakRule, Pin, Problem
from .reasons import placed_reason
from .search import solve
from .unplaced import in_languages
from .values import Frame
from .world import check_frame, day_bounds, names_of, room_specs, rooms_for

#: The last stage (earlier starts, fewer rooms) is polish: a proposal does not wait long for its proof.
PREFERENCE_SECONDS = 1.0
#: Busy spans by person id and by room id (``busy_for``).
World = tuple[dict[int, list[Interval]], dict[int, list[Interval]]]


def frame_bounds(frame: Frame) -> tuple[Interval, ...]:
    return day_bounds(frame.days, frame.day_start, frame.day_end, frame.timezone)


def world_of(frame: Frame, people: set[int], *, visit_id: int, exclude_meetings: Sequence[int] = ()) -> World:
    bounds = frame_bounds(frame)
    start, end = bounds[0][0], bounds[-1][1]
    busy_people, busy_rooms = busy_for(people=people, rooms=frame.rooms, start=start, end=end,
                                       exclude_meetings=exclude_meetings)
    busy_people = with_programme(busy_people, visit_id=visit_id, delegation=frame.delegation, start=start, end=end,
                                 exclude_meetings=exclude_meetings)
    return busy_people, busy_rooms


def check_visit_open(visit: Visit) -> None:
    if not booking.programme_is_open(visit):
        raise ValidationFailed(gettext("Visit %(reference)s is %(status)s; its programme is closed.") % {
            "reference": visit.reference, "status": visit.get_status_display()}, field="visit")


def check_has_topics(visit: Visit) -> None:
    """A programme is built around the topics the delegation asked for: without any, a proposal would
    be a welcome, lunch and a wrap-up with nothing between, so ask for topics first."""
    if not visit.topics.exists():
        raise ValidationFailed(gettext("Add the topics the delegation wants to discuss first (on the visit in the "
                                       "admin): the programme is built around them."), field="topics")


@transaction.atomic
def proposal_create(
    *, visit: Visit, by: Person | None = None, time_limit_seconds: float = 5.0, rooms: list[int] | None = None,
    day_start: time = P.DAY_START, day_end: time = P.DAY_END,
) -> Proposal:
    """Build the visit's programme problem, solve it and store the result as a draft proposal
    (``time_limit_seconds`` counts from here: reading the world is part of it)."""
    deadline = Deadline(time_limit_seconds)
    check_visit_open(visit)
    check_has_topics(visit)
    if rooms is not None:
        rooms_for(rooms)
    frame = P.visit_frame(visit, rooms=rooms, day_start=day_start, day_end=day_end)
    check_frame(tz=frame.timezone, days=frame.days, day_start=frame.day_start, day_end=frame.day_end,
                granularity=frame.granularity_minutes)
    topics = list(visit.topics.all())
    frame = replace(frame, covered=P.existing_programme(visit, topics))
    expert_ids = set(Person.objects.filter(expertise__in=topics).values_list("pk", flat=True))
    people = set(frame.delegation) | expert_ids | ({frame.coordinator} if frame.coordinator else set())
    busy_people, busy_rooms = world_of(frame, people, visit_id=visit.pk)
    drafts = P.draft_items(visit, frame, busy_people=busy_people, bounds=frame_bounds(frame))
    frame = replace(frame, precedence=P.precedence_for(drafts), same_day=P.same_day_for(drafts))
    proposal = Proposal.objects.create(visit=visit, created_by=by, settings=frame)
    ProposalItem.objects.bulk_create(
        ProposalItem(proposal=proposal, key=d.key, position=d.position, title=d.title, kind=d.kind, topic=d.topic,
                     location=d.location, participants=d.participants, spec=d.spec)
        for d in drafts
    )
    solve_into(proposal, time_limit_seconds=time_limit_seconds, world=(busy_people, busy_rooms), deadline=deadline)
    return proposal


def items_of(proposal: Proposal) -> list[ProposalItem]:
    return list(proposal.items.select_related("room", "meeting", "topic").order_by("position", "id"))


def solve_into(proposal: Proposal, *, time_limit_seconds: float, world: World | None = None,
               only: set[str] | None = None, deadline: Deadline | None = None) -> set[str]:
    """Solve the proposal's live items and store times, rooms and reasons.

    Pinned items and booked ones stay where they are; with ``only`` every item outside it is held
    in place too (a repair moves only what is affected).
    """
    frame = proposal.settings
    items = items_of(proposal)
    live = [i for i in items if not i.removed and not i.spec.dead_reason]
    booked = [i.meeting.pk for i in live if i.meeting is not None and i.meeting.status == Meeting.Status.SCHEDULED]
    people = {p for i in live for p in (*i.spec.required, *i.spec.optional)}
    if world is None or booked:
        world = world_of(frame, people, visit_id=proposal.visit_id, exclude_meetings=booked)
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
        specs.append(item.spec.meeting(item.key, item.title, pin=pin))
    keys = {s.key for s in specs}
    visit = proposal.visit
    the_rules = rules.settings_rules()
    fixed = tuple((e.starts_at, e.ends_at) for e in rules.booked_entries(visit, exclude=booked) if not e.is_break)
    bounds = frame_bounds(frame)
    problem = Problem(
        days=bounds, rooms=room_specs(rooms), meetings=tuple(specs),
        granularity_minutes=frame.granularity_minutes, timezone=frame.timezone,
        busy_people=busy_people, busy_rooms=busy_rooms, people_names=names_of(people | set(frame.delegation)),
        delegation=tuple(frame.delegation),
        precedence=tuple(p for p in frame.precedence if p[0] in keys and p[1] in keys),
        same_day=tuple(p for p in frame.same_day if p[0] in keys and p[1] in keys),
        breaks=BreakRule(people=tuple(frame.delegation), max_minutes=the_rules.break_after_minutes,
                         break_minutes=the_rules.break_minutes, fixed=fixed),
        building_gap_minutes=the_rules.walking_gap_minutes, building_gap_hard=True,
        closed_days=rules.visit_holidays(visit, frame.days[0], frame.days[-1]),
        time_limit_seconds=time_limit_seconds, preference_seconds=PREFERENCE_SECONDS,
    )
    solution = solve(problem, deadline=deadline)
    by_key = {a.key: a for a in solution.assignments}
    reasons = {u.key: u.reasons or {"en": u.reason} for u in solution.unplaced}
    blocked = {u.key: u.rule for u in solution.unplaced}
    names = problem.people_names
    for item in items:
        item.blocked_by = ""
        if item.removed:
            continue
        if item.spec.dead_reason:
            item.starts_at = item.ends_at = item.room = None
            item.blocked_by = "expertise"
        elif item.key in by_key:
            a = by_key[item.key]
            item.starts_at, item.ends_at = a.starts_at, a.ends_at
            item.room = rooms.get(a.room) if a.room else None
        elif not item.meeting_id:
            item.starts_at = item.ends_at = item.room = None
            item.blocked_by = blocked.get(item.key, "")
    # The rules CP-SAT leaves to the end: who can come, lunch hosts, the smallest free room.
    left_out = check.finish(visit, items)
    for item in items:
        if item.removed:
            continue
        if item.room_id is not None and (item.room is None or item.room.pk != item.room_id):
            item.room = rooms.get(item.room_id)
        if item.spec.dead_reason:
            topic = item.topic.name if item.topic else item.title
            item.reasons = in_languages(lambda topic=topic: gettext(  # type: ignore[misc]
                "nobody has expertise in %(topic)s (add it to a person's expertise)") % {"topic": topic})
        elif item.key in by_key:
            a = by_key[item.key]
            item.reasons = in_languages(lambda item=item, a=a: placed_reason(  # type: ignore[misc]
                item, a, frame=frame, busy_people=busy_people, names=names, room=item.room, bounds=problem.days))
            for code, text in item.reasons.items():
                with translation.override(code):
                    missing = left_out.reasons(item)
                    if missing:
                        item.reasons[code] = text + "; " + gettext("not invited: %(why)s") % {
                            "why": "; ".join(missing)}
        else:
            item.reasons = reasons.get(item.key) or in_languages(lambda: gettext("not placed"))
        item.reason = item.reasons.get("en") or next(iter(item.reasons.values()), "")
    ProposalItem.objects.bulk_update(items, ["starts_at", "ends_at", "room", "reason", "reasons", "participants",
                                             "blocked_by"])
    proposal.solver_status = solution.status
    proposal.objective = {**solution.objective, "solve_seconds": solution.solve_seconds}
    proposal.save(update_fields=["solver_status", "objective", "updated_at"])
    return set(by_key)


def open_for_change(proposal: Proposal) -> Proposal:
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status == Proposal.Status.DISCARDED:
        raise ProposalClosed(gettext("This proposal was discarded; make a new one."))
    return proposal


@transaction.atomic
def proposal_resolve(*, proposal: Proposal, time_limit_seconds: float = 5.0) -> Proposal:
    """Solve again: pinned and booked items stay, removed ones are left out, the rest may move."""
    proposal = open_for_change(proposal)
    check_visit_open(proposal.visit)
    solve_into(proposal, time_limit_seconds=time_limit_seconds)
    return proposal


@transaction.atomic
def proposal_item_update(*, item: ProposalItem, pinned: bool | None = None, removed: bool | None = None) -> ProposalItem:
    open_for_change(item.proposal)
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
    proposal = open_for_change(proposal)
    proposal.status = Proposal.Status.DISCARDED
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


@transaction.atomic
def proposal_accept(*, proposal: Proposal, item_ids: Sequence[int] | None = None) -> Proposal:
    """Book the chosen items (default: every placed, kept, not yet booked one) as programme meetings."""
    proposal = open_for_change(proposal)
    visit = Visit.objects.get(pk=proposal.visit_id)
    check_visit_open(visit)
    items = items_of(proposal)
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
    people = {p.pk: p for p in Person.objects.filter(pk__in={x.person for i in chosen for x in i.participants})}
    for item in sorted(chosen, key=lambda i: (i.starts_at, i.position)):
        [item.meeting] = booking.programme_book(bookings=[booking_for_item(item, people)],
                                                timezone=proposal.settings.timezone, visit=visit)
        item.save(update_fields=["meeting"])
    proposal.status = Proposal.Status.ACCEPTED
    proposal.accepted_at = proposal.accepted_at or djtz.now()
    proposal.save(update_fields=["status", "accepted_at", "updated_at"])
    return proposal
