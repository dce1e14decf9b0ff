"""A visit's programme shaped for reading: an itinerary by day, and the planner's day timelines for staff.

Pure functions over already-loaded meetings (``events.selectors.meeting_list`` prefetches rooms,
participations and agenda), so they are tested without a database and render with no extra query.
Times are shown in the visit's own zone, the one the delegation lives in while on site.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.utils.translation import gettext as _

from events.models import AgendaItem, Meeting, Participation, Room
from events.selectors import meeting_version

from .answers import Counter, MeetingAnswers

SLOT_MINUTES = 15


@dataclass
class Entry:
    """One meeting as seen in one zone."""

    meeting: Meeting
    starts: datetime
    ends: datetime
    hosts: list[Participation]
    agenda: list[AgendaItem]
    #: The reader's own participation (their RSVP), on the pages of one person's meetings.
    mine: Participation | None = None

    @property
    def place(self) -> str:
        room = self.meeting.room if self.meeting.room_id else None
        if room is not None:
            return f"{room.name}, {room.venue.name}"
        return self.meeting.location

    @property
    def is_cancelled(self) -> bool:
        return self.meeting.status == Meeting.Status.CANCELLED


@dataclass
class Day:
    day: date
    entries: list[Entry]


def _entries(meetings: Iterable[Meeting], zone: str, reader_id: int | None = None) -> list[Entry]:
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
                mine=next((p for p in participations if p.person_id == reader_id), None) if reader_id else None,
            )
        )
    out.sort(key=lambda e: (e.starts, e.ends, e.meeting.pk))
    return out


def itinerary(meetings: Iterable[Meeting], zone: str, *, reader_id: int | None = None) -> list[Day]:
    """Meetings grouped by local day, in order; with ``reader_id`` (a person's id) each entry carries
    that person's participation as ``mine``."""
    days: dict[date, list[Entry]] = defaultdict(list)
    for entry in _entries(meetings, zone, reader_id):
        days[entry.starts.date()].append(entry)
    return [Day(day=d, entries=days[d]) for d in sorted(days)]


# --- staff timeline (the planner) -----------------------------------------------------------
#
# One grid per day: a column per room (every room the coordinator may book, busy or not, so a
# meeting can be created in or moved to an empty one), then a column per free-text location.
# Rows are quarter hours. The server only says where things are (minutes from the grid's first
# row, lane index); the planner script (static/web/planner/grid.js) places them, so the page
# needs no inline ``style`` (strict CSP).

DAY_START_HOUR = 8  # an empty day still shows a working day to plan into
DAY_END_HOUR = 19
MAX_DAYS = 14


@dataclass
class Lane:
    index: int
    label: str
    room_id: int | None  # None: a free-text location or "no room"; meetings can leave but not enter it
    key: str
    venue: str = ""


@dataclass
class Block:
    entry: Entry
    lane: int
    start: int  # minutes after the grid's first row
    end: int
    sub: int = 0  # 0 normally; 1, 2… for meetings that overlap another in the same lane (shown indented)
    conflicts: list[str] = field(default_factory=list)
    #: Declines, maybe and no answer yet, for coordinators (``web.answers``); None: nothing to show.
    answers: MeetingAnswers | None = None

    @property
    def version(self) -> str:
        """The meeting's ETag value; the planner sends it back as ``If-Match``."""
        return meeting_version(self.entry.meeting)

    @property
    def blockers(self) -> list[int]:
        """Whose time the meeting occupies, as booking stored it (``visits.booking.blocking_people``)."""
        return [p.person_id for p in self.entry.meeting.participations.all() if p.blocks_time]

    @property
    def people(self) -> list[int]:
        return [p.person_id for p in self.entry.meeting.participations.all()]


@dataclass
class CounterShade:
    """A time someone proposed for a meeting (``web.answers.Counter``), shaded in the meeting's lane."""

    counter: Counter
    lane: int
    start: int  # minutes after the grid's first row
    end: int


@dataclass
class HourMark:
    label: str
    offset: int  # minutes after the grid's first row


@dataclass
class Timeline:
    day: date
    lanes: list[Lane]
    hours: list[HourMark]
    blocks: list[Block]
    origin: int  # minutes after local midnight of the first row
    minutes: int  # minutes the grid shows
    counters: list[CounterShade] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.minutes // SLOT_MINUTES

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
            room = a.meeting.room if a.meeting.room_id else None
            if room is not None and a.meeting.room_id == b.meeting.room_id:
                for x, y in ((a, b), (b, a)):
                    reasons[x.meeting.pk].append(
                        _("%(room)s is also booked for “%(other)s”") % {"room": room.name, "other": y.meeting.title}
                    )
            names = {p.person_id: p.person.name for p in a.hosts}
            for person_id in sorted(names.keys() & {p.person_id for p in b.hosts}):
                name = names[person_id]
                for x, y in ((a, b), (b, a)):
                    reasons[x.meeting.pk].append(
                        _("%(person)s is also in “%(other)s”") % {"person": name, "other": y.meeting.title}
                    )
    return reasons


def _lane_key(meeting: Meeting) -> tuple[str, str]:
    room = meeting.room if meeting.room_id else None
    if room is not None:
        return (f"room:{meeting.room_id}", room.name)
    if meeting.location:
        return (f"loc:{meeting.location}", meeting.location)
    return ("none", _("No room"))


def _sub_lanes(entries: list[Entry]) -> dict[int, int]:
    """Greedy interval colouring inside one lane: 0 for the usual case, 1+ for overlapping meetings."""
    ends: list[datetime] = []
    sub: dict[int, int] = {}
    for e in sorted(entries, key=lambda e: (e.is_cancelled, e.starts, e.ends)):
        for index, end in enumerate(ends):
            if end <= e.starts:
                ends[index] = e.ends
                sub[e.meeting.pk] = index
                break
        else:
            sub[e.meeting.pk] = len(ends)
            ends.append(e.ends)
    return sub


def day_timeline(day: Day, *, rooms: Iterable[Room] = (), zone: str | None = None,
                 answers: Mapping[int, MeetingAnswers] | None = None, counters: Iterable[Counter] = ()) -> Timeline:
    """Lay one day out: a lane per room (``rooms`` first, in order), quarter-hour rows from 08:00 to
    19:00 or wider when meetings or proposed times need it. ``counters``: proposed times on this day,
    shaded in their meeting's lane."""
    tz = zoneinfo.ZoneInfo(zone) if zone else (day.entries[0].starts.tzinfo if day.entries else zoneinfo.ZoneInfo("UTC"))
    midnight = datetime.combine(day.day, time(0), tzinfo=tz)

    def minutes(dt: datetime) -> int:
        # clip meetings running past midnight to this day's grid
        return max(0, min(24 * 60, int((dt - midnight).total_seconds() // 60)))

    proposed = [c for c in counters if c.starts_at.astimezone(tz).date() == day.day]
    first_hour = min([DAY_START_HOUR] + [minutes(e.starts) // 60 for e in day.entries]
                     + [minutes(c.starts_at) // 60 for c in proposed])
    last_hour = max([DAY_END_HOUR] + [math.ceil(minutes(e.ends) / 60) for e in day.entries]
                    + [math.ceil(minutes(c.ends_at) / 60) for c in proposed])
    last_hour = min(24, max(last_hour, first_hour + 1))
    origin = first_hour * 60

    lanes: list[Lane] = []
    index_of: dict[str, int] = {}
    for room in rooms:
        index_of[f"room:{room.pk}"] = len(lanes)
        lanes.append(Lane(index=len(lanes), label=room.name, room_id=room.pk, key=f"room:{room.pk}",
                          venue=room.venue.name))
    extra: dict[str, str] = {}
    for meeting in [e.meeting for e in day.entries] + [c.meeting for c in proposed]:
        key, label = _lane_key(meeting)
        if key not in index_of:
            extra[key] = label
    for key in sorted(extra, key=lambda k: (not k.startswith("room:"), k == "none", extra[k].lower())):
        index_of[key] = len(lanes)
        room_id = int(key.split(":", 1)[1]) if key.startswith("room:") else None
        lanes.append(Lane(index=len(lanes), label=extra[key], room_id=room_id, key=key))

    by_lane: dict[int, list[Entry]] = defaultdict(list)
    for e in day.entries:
        by_lane[index_of[_lane_key(e.meeting)[0]]].append(e)
    reasons = _conflict_reasons(day.entries)
    blocks = []
    for lane_index, entries in by_lane.items():
        sub = _sub_lanes(entries)
        for e in entries:
            start = minutes(e.starts) - origin
            end = max(start + SLOT_MINUTES, minutes(e.ends) - origin)
            blocks.append(Block(entry=e, lane=lane_index, start=start, end=end, sub=sub[e.meeting.pk],
                                conflicts=reasons.get(e.meeting.pk, []),
                                answers=(answers or {}).get(e.meeting.pk)))
    blocks.sort(key=lambda b: (b.entry.starts, b.lane, b.entry.meeting.pk))
    hours = [HourMark(label=f"{h:02d}:00", offset=h * 60 - origin) for h in range(first_hour, last_hour)]
    shades = [CounterShade(counter=c, lane=index_of[_lane_key(c.meeting)[0]], start=minutes(c.starts_at) - origin,
                           end=max(minutes(c.starts_at) - origin + SLOT_MINUTES, minutes(c.ends_at) - origin))
              for c in proposed]
    return Timeline(day=day.day, lanes=lanes, hours=hours, blocks=blocks, origin=origin,
                    minutes=(last_hour - first_hour) * 60, counters=shades)


def timelines(meetings: Iterable[Meeting], zone: str, *, rooms: Iterable[Room] = (), days: Iterable[date] = (),
              answers: Mapping[int, MeetingAnswers] | None = None, counters: Iterable[Counter] = ()) -> list[Timeline]:
    """The planner's days: every day in ``days`` (the visit's dates) and every day with a meeting;
    ``answers`` (coordinators only) marks the blocks whose people declined or have not answered,
    ``counters`` (coordinators only) shades the times people proposed instead, on the days shown."""
    counters = list(counters)
    by_day = {d.day: d for d in itinerary(meetings, zone)}
    wanted = sorted(set(list(days)[:MAX_DAYS]) | set(by_day))
    rooms = list(rooms)
    return [day_timeline(by_day.get(d) or Day(day=d, entries=[]), rooms=rooms, zone=zone, answers=answers,
                         counters=counters)
            for d in wanted]
