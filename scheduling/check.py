"""A proposal's programme check: its items plus what the visit already has, against ``visits.rules``.

The rules are stated once, in ``visits.rules``; here a proposal's items become its ``Entry`` values
(the items' participants as invited, the spec's required people, the topic's host, an item pinned by
the coordinator as "room chosen"), next to the visit's booked programme meetings that the proposal
does not stand for, and the check runs over the whole programme. ``finish`` is the part of solving
that uses the same rules after CP-SAT has placed the items: it drops optional guests who cannot come
(naming why), invites the day's topic hosts to lunch, and moves each item into the smallest free room
that fits — so what the solver proposes passes the check whenever the rule can be kept at all.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from events.models import Meeting
from visits import rules
from visits.models import ProgrammeKind, Visit

from .models import Proposal, ProposalItem
from .values import ItemParticipant


def item_entry(item: ProposalItem, *, delegation: frozenset[int], size: int) -> rules.Entry:
    assert item.starts_at is not None and item.ends_at is not None  # placed items only
    people = tuple(dict.fromkeys(p.person for p in item.participants))
    return rules.Entry(
        key=f"item-{item.pk}", title=item.title, kind=item.kind, starts_at=item.starts_at, ends_at=item.ends_at,
        room=item.room_id, location=item.location, people=people, required=tuple(item.spec.required),
        hosts=(item.spec.host,) if item.kind == ProgrammeKind.TOPIC and item.spec.host is not None else (),
        topics=tuple(item.spec.topics), seats=rules.entry_seats(people, delegation, size),
        room_chosen=item.pinned and item.room_id is not None,
    )


def live_items(items: Iterable[ProposalItem]) -> list[ProposalItem]:
    return [i for i in items if not i.removed and i.placed]


def programme_of(visit: Visit, items: Sequence[ProposalItem], *,
                 names: dict[int, str] | None = None) -> rules.Programme:
    """The whole programme the proposal would give: its placed, kept items and the visit's other booked
    programme meetings (those an item stands for are the item)."""
    delegation, size = rules.delegation_of(visit)
    mine = [i.meeting_id for i in items if i.meeting_id]
    booked = rules.booked_entries(visit, exclude=mine)
    entries = [*booked, *(item_entry(i, delegation=delegation, size=size) for i in live_items(items))]
    programme_meetings = Meeting.objects.filter(programme_slot__visit=visit).values_list("pk", flat=True)
    return rules.world_for(visit, entries, exclude_meetings=[*programme_meetings, *mine], names=names)


def proposal_check(proposal: Proposal, *, language: str | None = None) -> list[rules.RuleResult]:
    """Every rule, kept or why not, for the programme ``proposal`` gives (in the visit's language)."""
    visit = proposal.visit
    items = list(proposal.items.all())
    return rules.check(programme_of(visit, items), language=language or visit.language)


@dataclass(frozen=True)
class LeftOut:
    """Who ``finish`` did not invite to which item, with the world that says why."""

    world: rules.Programme | None = None
    people: dict[int, list[int]] = field(default_factory=dict)

    def reasons(self, item: ProposalItem) -> list[str]:
        """Why each one left out of ``item`` cannot come ("Dr. X is away that day"), in the active language."""
        if self.world is None or item.pk not in self.people:
            return []
        entry = next(e for e in self.world.entries if e.key == f"item-{item.pk}")
        return [rules.why_unavailable(self.world, entry, p) for p in self.people[item.pk]]


def finish(visit: Visit, items: Sequence[ProposalItem], *, day_hosts: bool = True) -> LeftOut:
    """After placing: invite only who can come, the day's hosts to lunch, the smallest free rooms.

    Changes ``items`` in place (participants, room) and returns who was left out of which item.
    """
    placed = [i for i in live_items(items) if not i.meeting_id]  # a booked item is its meeting's business
    dropped: dict[int, list[int]] = {}
    if not placed:
        return LeftOut()
    delegation, size = rules.delegation_of(visit)
    # Everyone who might be invited: the spec's optional experts, and each day's topic hosts for lunch.
    candidates: dict[int, list[int]] = {}
    hosts_by_day: dict[date, list[int]] = {}
    zone = zoneinfo.ZoneInfo(visit.timezone)
    def day(item: ProposalItem) -> date:
        assert item.starts_at is not None  # placed
        return item.starts_at.astimezone(zone).date()

    for item in placed:
        if item.kind == ProgrammeKind.TOPIC and item.spec.host is not None:
            hosts_by_day.setdefault(day(item), []).append(item.spec.host)
    for item in placed:
        extra = list(item.spec.optional)
        if day_hosts and item.kind == ProgrammeKind.LUNCH:
            extra += hosts_by_day.get(day(item), [])
        candidates[item.pk] = [p for p in dict.fromkeys(extra) if p not in item.spec.required]
    world = programme_of(visit, [replace_participants(i, i.spec.required, candidates[i.pk]) if i.pk in candidates
                                 else i for i in items])
    rooms = world.rooms
    for item in placed:
        kept = list(item.spec.required)
        entry = next(e for e in world.entries if e.key == f"item-{item.pk}")
        for person in candidates[item.pk]:
            if rules.why_unavailable(world, entry, person):
                dropped.setdefault(item.pk, []).append(person)
                continue
            seats = rules.entry_seats({*kept, person}, delegation, size)
            if item.room_id is not None and item.room_id in rooms and rooms[item.room_id].capacity < seats:
                continue  # the room the solver chose holds no more (lunch guests beyond its seats)
            kept.append(person)
        new = replace_participants(item, item.spec.required, [p for p in kept if p not in item.spec.required])
        item.participants = new.participants
    # The smallest free room that fits, item by item, until none can move (a move may free a room).
    entries = {e.key: e for e in world.entries}
    for item in placed:
        key = f"item-{item.pk}"
        entries[key] = replace(entries[key], people=tuple(dict.fromkeys(p.person for p in item.participants)),
                               seats=rules.entry_seats({p.person for p in item.participants}, delegation, size))
    for _round in range(len(placed) + 1):
        programme = replace(world, entries=tuple(entries.values()))
        moved = False
        for item in placed:
            key = f"item-{item.pk}"
            smaller = rules.smaller_room(programme, entries[key])
            if smaller is not None:
                item.room_id = smaller.id
                entries[key] = replace(entries[key], room=smaller.id)
                moved = True
                break
        if not moved:
            break
    return LeftOut(world, dropped)


def replace_participants(item: ProposalItem, required: Iterable[int], optional: Iterable[int]) -> ProposalItem:
    """A copy of ``item`` inviting its required people in their roles plus ``optional`` as guests."""
    required = set(required)
    base = tuple(p for p in item.participants if p.person in required)
    roles = {p.person for p in base}
    copy = ProposalItem(pk=item.pk, proposal_id=item.proposal_id, key=item.key, title=item.title, kind=item.kind,
                        starts_at=item.starts_at, ends_at=item.ends_at, room_id=item.room_id, location=item.location,
                        spec=item.spec, pinned=item.pinned, removed=item.removed, meeting_id=item.meeting_id,
                        position=item.position, topic_id=item.topic_id)
    copy.participants = (*base, *(ItemParticipant(p, "guest") for p in dict.fromkeys(optional) if p not in roles))
    return copy


__all__ = ["LeftOut", "finish", "item_entry", "programme_of", "proposal_check"]
