"""A programme proposal shaped for its page: each item as a frozen row in the proposal's time zone.

The page shows who hosts an item, how many guests it has, its local times and its length as a CSS
class; none of that is the item's own data, so it lives in ``ProposalRow`` beside the item's fields
instead of being stuck onto the loaded ``ProposalItem`` rows. The row's names are the ones the
template reads (``web/staff/proposal.html``).
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from directory.models import Person
from events.models import Room
from scheduling.models import Proposal, ProposalItem

#: Blocks are drawn one CSS class per quarter hour of length (``dur-1`` … ``dur-32``, see proposal.css).
MAX_QUARTERS = 32
#: Roles named as the item's hosts on the page.
HOST_ROLES = ("host", "chair")


@dataclass(frozen=True)
class ProposalRow:
    """One proposal item as the page shows it."""

    pk: int
    title: str
    kind: str
    pinned: bool
    removed: bool
    meeting_id: int | None
    room: Room | None
    location: str
    #: Why it is where it is (or why not), in the language of the request that built the row.
    reason_text: str
    #: Names of its hosts and chairs, in the order the item lists them.
    hosts: tuple[str, ...]
    guests: int
    #: Start and end in the proposal's zone; None while the item is not placed.
    local_start: datetime | None
    local_end: datetime | None
    #: ``dur-N``: its length in quarter hours (1 … ``MAX_QUARTERS``); empty while not placed.
    size_class: str

    @property
    def placed(self) -> bool:
        return self.local_start is not None


@dataclass(frozen=True)
class ProposalView:
    """A proposal's items for the page: placed ones by local day, the unplaced, the removed."""

    days: list[tuple[date, list[ProposalRow]]]
    unplaced: list[ProposalRow]
    removed: list[ProposalRow]
    #: Whether "Accept and book" is offered: the proposal is live and something placed is not booked yet.
    can_accept: bool


def proposal_row(item: ProposalItem, *, zone: zoneinfo.ZoneInfo, names: Mapping[int, str]) -> ProposalRow:
    """``names``: person id → name for the item's participants (unknown ids show as an empty name)."""
    local_start = local_end = None
    size_class = ""
    if item.starts_at is not None and item.ends_at is not None:
        local_start, local_end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
        quarters = math.ceil((item.ends_at - item.starts_at).total_seconds() / 900)
        size_class = f"dur-{max(1, min(MAX_QUARTERS, quarters))}"
    return ProposalRow(
        pk=item.pk,
        title=item.title,
        kind=item.kind,
        pinned=item.pinned,
        removed=item.removed,
        meeting_id=item.meeting_id,
        room=item.room,
        location=item.location,
        reason_text=item.reason_text,
        hosts=tuple(names.get(p.person, "") for p in item.participants if p.role in HOST_ROLES),
        guests=sum(1 for p in item.participants if p.role == "guest"),
        local_start=local_start,
        local_end=local_end,
        size_class=size_class,
    )


def proposal_view(proposal: Proposal) -> ProposalView:
    """The page's rows of a proposal loaded with ``scheduling.selectors.proposal_detail`` (one query for the names)."""
    items = list(proposal.items.all())
    zone = zoneinfo.ZoneInfo(proposal.settings.timezone)
    names = dict(Person.objects.filter(pk__in={p.person for i in items for p in i.participants})
                 .values_list("pk", "name"))
    placed_items = sorted((i for i in items if i.starts_at is not None and not i.removed),
                          key=lambda i: (i.starts_at, i.position))
    placed = [proposal_row(i, zone=zone, names=names) for i in placed_items]
    days = [(day, list(group)) for day, group in groupby(placed, key=_local_day)]
    return ProposalView(
        days=days,
        unplaced=[proposal_row(i, zone=zone, names=names) for i in items if not i.placed and not i.removed],
        removed=[proposal_row(i, zone=zone, names=names) for i in items if i.removed],
        can_accept=proposal.status != Proposal.Status.DISCARDED and any(not row.meeting_id for row in placed),
    )


def _local_day(row: ProposalRow) -> date:
    assert row.local_start is not None  # only placed rows are grouped by day
    return row.local_start.date()
