"""A visit's programme shaped for reading: an itinerary by day, and a day timeline for staff.

Pure functions over already-loaded meetings (``events.selectors.meeting_list`` prefetches rooms,
participations and agenda), so they are tested without a database and render with no extra query.
Times are shown in the visit's own zone, the one the delegation lives in while on site.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext as _

from events.models import Meeting, Participation

SLOT_MINUTES = 15


@dataclass
class Entry:
    """One meeting as seen in one zone."""

    meeting: Meeting
    starts: datetime
    ends: datetime
    hosts: list[Participation]
    agenda: list

    @property
    def place(self) -> str:
        m = self.meeting
        if m.room_id:
            return f"{m.room.name}, {m.room.venue.name}"
        return m.location

    @property
    def is_cancelled(self) -> bool:
        return self.meeting.status == Meeting.Status.CANCELLED


@dataclass
class Day:
    day: date
    entries: list[Entry]


def _entries(meetings: Iterable[Meeting], zone: str) -> list[Entry]:
    tz = zoneinfo.ZoneInfo(zone)
    out = []
    for m in meetings:
        participations = list(m.participations.all())
        out.append(
            Entry(
                meeting=m,
                starts=m.starts_at.astimezone(tz),
                ends=m.ends_at.astimezone(tz),
                hosts=[p for p in participations if p.role in Participation.BLOCKING_ROLES],
                agenda=list(m.agenda_items.all()),
            )
        )
    out.sort(key=lambda e: (e.starts, e.ends, e.meeting.pk))
    return out


def itinerary(meetings: Iterable[Meeting], zone: str) -> list[Day]:
    """Meetings grouped by local day, in order."""
    days: dict[date, list[Entry]] = defaultdict(list)
    for entry in _entries(meetings, zone):
        days[entry.starts.date()].append(entry)
    return [Day(day=d, entries=days[d]) for d in sorted(days)]


# --- staff timeline --------------------------------------------------------------------------


@dataclass
class Column:
    label: str
    start: int  # first CSS grid column
    span: int  # lanes: overlapping meetings in one room sit side by side, never on top of each other


@dataclass
class Block:
    entry: Entry
    column: int
    row_start: int
    row_end: int
    conflicts: list[str] = field(default_factory=list)


@dataclass
class HourMark:
    label: str
    row: int


@dataclass
class Timeline:
    day: date
    columns: list[Column]
    hours: list[HourMark]
    blocks: list[Block]
    rows: int
    total_columns: int

    @property
    def conflicts(self) -> list[Block]:
        return [b for b in self.blocks if b.conflicts]


def _overlap(a: Entry, b: Entry) -> bool:
    return a.starts < b.ends and b.starts < a.ends


def _conflict_reasons(entries: list[Entry]) -> dict[int, list[str]]:
    """Why each scheduled meeting clashes with another: same room, or a host/chair/presenter in both."""
    reasons: dict[int, list[str]] = defaultdict(list)
    live = [e for e in entries if not e.is_cancelled]
    for i, a in enumerate(live):
        for b in live[i + 1 :]:
            if not _overlap(a, b):
                continue
            if a.meeting.room_id and a.meeting.room_id == b.meeting.room_id:
                for x, y in ((a, b), (b, a)):
                    reasons[x.meeting.pk].append(
                        _("%(room)s is also booked for “%(other)s”") % {"room": x.meeting.room.name, "other": y.meeting.title}
                    )
            names = {p.person_id: p.person.name for p in a.hosts}
            for person_id in sorted(names.keys() & {p.person_id for p in b.hosts}):
                name = names[person_id]
                for x, y in ((a, b), (b, a)):
                    reasons[x.meeting.pk].append(
                        _("%(person)s is also in “%(other)s”") % {"person": name, "other": y.meeting.title}
                    )
    return reasons


def _column_key(entry: Entry) -> tuple[str, str]:
    m = entry.meeting
    if m.room_id:
        return (f"room:{m.room_id}", m.room.name)
    if m.location:
        return (f"loc:{m.location}", m.location)
    return ("none", _("No room"))


def _lanes(entries: list[Entry]) -> tuple[dict[int, int], int]:
    """Greedy interval colouring: the lane of each meeting and how many lanes the room needs."""
    lane_ends: list[datetime] = []
    lane_of: dict[int, int] = {}
    for e in sorted(entries, key=lambda e: (e.starts, e.ends)):
        for index, end in enumerate(lane_ends):
            if end <= e.starts:
                lane_ends[index] = e.ends
                lane_of[e.meeting.pk] = index
                break
        else:
            lane_of[e.meeting.pk] = len(lane_ends)
            lane_ends.append(e.ends)
    return lane_of, max(1, len(lane_ends))


def day_timeline(day: Day) -> Timeline:
    """Lay one day out on a grid: row 1 is the room header, then one row per 15 minutes."""
    entries = day.entries
    midnight = datetime.combine(day.day, datetime.min.time(), tzinfo=entries[0].starts.tzinfo)

    def minutes(dt: datetime) -> int:
        # clip meetings running past midnight to this day's grid
        return max(0, min(24 * 60, int((dt - midnight).total_seconds() // 60)))

    first_hour = min(minutes(e.starts) for e in entries) // 60
    last_hour = min(24, math.ceil(max(minutes(e.ends) for e in entries) / 60))
    last_hour = max(last_hour, first_hour + 1)
    origin = first_hour * 60

    def row(mins: int, *, up: bool) -> int:
        slot = (mins - origin) / SLOT_MINUTES
        return 2 + (math.ceil(slot) if up else math.floor(slot))

    groups: dict[str, list[Entry]] = defaultdict(list)
    labels: dict[str, str] = {}
    for e in entries:
        key, label = _column_key(e)
        groups[key].append(e)
        labels[key] = label
    ordered = sorted(groups, key=lambda k: (k == "none", labels[k].lower()))

    reasons = _conflict_reasons(entries)
    columns, blocks = [], []
    next_col = 2  # column 1 is the time axis
    for key in ordered:
        lane_of, span = _lanes(groups[key])
        columns.append(Column(label=labels[key], start=next_col, span=span))
        for e in groups[key]:
            start_row = row(minutes(e.starts), up=False)
            end_row = max(start_row + 1, row(minutes(e.ends), up=True))
            blocks.append(
                Block(entry=e, column=next_col + lane_of[e.meeting.pk], row_start=start_row, row_end=end_row,
                      conflicts=reasons.get(e.meeting.pk, []))
            )
        next_col += span
    blocks.sort(key=lambda b: (b.entry.starts, b.column))
    hours = [HourMark(label=f"{h:02d}:00", row=row(h * 60, up=False)) for h in range(first_hour, last_hour)]
    return Timeline(
        day=day.day,
        columns=columns,
        hours=hours,
        blocks=blocks,
        rows=(last_hour - first_hour) * 60 // SLOT_MINUTES,
        total_columns=next_col - 1,
    )


def timelines(meetings: Iterable[Meeting], zone: str) -> list[Timeline]:
    return [day_timeline(d) for d in itinerary(meetings, zone)]
