"""Turn wall-clock patterns (working hours, rooms' bookable hours) into instants for one window.

A pattern is expanded day by day in its own zone, so "09:00–17:00 Europe/Berlin" is 08:00–16:00 UTC
in winter and 07:00–15:00 UTC in summer. A wall-clock time that does not exist (inside the spring-
forward gap) is read with the offset before the change, as ``zoneinfo`` does with ``fold=0``; a
repeated autumn time means its first occurrence (RFC 5545 §3.3.5). Both the PostgreSQL and the Python
path use these expansions, so they agree to the second at every DST change.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from .intervals import Interval, normalize


@dataclass(frozen=True)
class WeekPattern:
    """Intervals per weekday (Monday = 0) plus dated replacements (an empty list = a day off)."""

    zone: str
    weekly: dict[int, list[tuple[time, time | None]]] = field(default_factory=dict)
    exceptions: dict[date, list[tuple[time, time | None]]] = field(default_factory=dict)

    def day(self, day: date) -> list[tuple[time, time | None]]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), [])


def _instant(day: date, at: time | None, zone: zoneinfo.ZoneInfo) -> datetime:
    """``None`` as an end means midnight at the end of ``day``."""
    if at is None:
        day, at = day + timedelta(days=1), time(0)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def expand(pattern: WeekPattern, start: datetime, end: datetime) -> list[Interval]:
    """The pattern's open intervals overlapping [start, end), as merged UTC pairs (not clipped)."""
    zone = zoneinfo.ZoneInfo(pattern.zone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    out: list[Interval] = []
    day = first
    while day <= last:
        for a, b in pattern.day(day):
            lo, hi = _instant(day, a, zone), _instant(day, b, zone)
            if lo < hi and lo < end and hi > start:
                out.append((lo, hi))
        day += timedelta(days=1)
    return normalize(out)


def room_pattern(*, zone: str, bookable_from: time | None, bookable_until: time | None) -> WeekPattern | None:
    """A room's daily bookable hours as a pattern, or None when it can be booked at any time.

    ``bookable_until`` earlier than ``bookable_from`` means the room is bookable overnight.
    """
    if bookable_from is None and bookable_until is None:
        return None
    a = bookable_from or time(0)
    if bookable_until is None or bookable_until > a:
        daily = [(a, bookable_until)]
    else:
        daily = [(time(0), bookable_until), (a, None)] if bookable_until != time(0) else [(a, None)]
    return WeekPattern(zone=zone, weekly={weekday: daily for weekday in range(7)})


def person_patterns(person_ids: Iterable[int]) -> dict[int, WeekPattern]:
    """Working-hours patterns of the people who have any; a person without weekly rows has no limit
    except on the dates their exceptions name."""
    from directory.models import Person

    from .models import HoursException, WeeklyHours

    ids = list(person_ids)
    weekly: dict[int, dict[int, list[tuple[time, time | None]]]] = defaultdict(lambda: defaultdict(list))
    for row in WeeklyHours.objects.filter(person_id__in=ids).order_by("start").values_list(
        "person_id", "weekday", "start", "end"
    ):
        weekly[row[0]][row[1]].append((row[2], row[3]))
    exceptions: dict[int, dict[date, list[tuple[time, time | None]]]] = defaultdict(lambda: defaultdict(list))
    for pid, day, a, b in HoursException.objects.filter(person_id__in=ids).order_by("start").values_list(
        "person_id", "date", "start", "end"
    ):
        slot = exceptions[pid][day]
        if a is not None:
            slot.append((a, b))
    limited = set(weekly) | set(exceptions)
    if not limited:
        return {}
    zones = dict(Person.objects.filter(pk__in=limited).values_list("pk", "timezone"))
    return {
        pid: WeekPattern(zone=zones[pid], weekly=dict(weekly.get(pid, {})), exceptions=dict(exceptions.get(pid, {})))
        for pid in limited
    }


def open_hours(pattern: WeekPattern, start: datetime, end: datetime) -> list[Interval]:
    """The pattern's open time inside [start, end).

    A person with only exceptions (no weekly rows) is open all day except on exception dates.
    """
    if pattern.weekly:
        return [(max(a, start), min(b, end)) for a, b in expand(pattern, start, end) if a < end and b > start]
    always = WeekPattern(zone=pattern.zone, weekly={d: [(time(0), None)] for d in range(7)},
                         exceptions=pattern.exceptions)
    return [(max(a, start), min(b, end)) for a, b in expand(always, start, end) if a < end and b > start]
