"""Read busy intervals out of someone's calendar (ICS), keeping nothing else.

``recurring-ical-events`` expands RRULE, RDATE, EXDATE and RECURRENCE-ID overrides (and applies
Google's ``X-WR-TIMEZONE``); this module decides what counts as busy and turns every occurrence into
a UTC interval:

* ``TRANSP:TRANSPARENT`` ("show as free") and ``STATUS:CANCELLED`` occurrences are not busy;
* an all-day event (``VALUE=DATE``) covers whole days in the person's zone, DTEND exclusive;
* a floating time (no zone) is read in the person's zone, as their own calendar app shows it;
* an event without DTEND lasts one day when all-day and zero time otherwise (RFC 5545 §3.6.1), or
  its DURATION.

Summaries, locations, attendees and descriptions are never read into the result.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import icalendar
import recurring_ical_events

from .errors import FeedError
from .intervals import Interval, normalize

#: More distinct busy intervals than any real person has in half a year; beyond it the feed is refused.
MAX_INTERVALS = 20_000


def _instant(value: Any, zone: zoneinfo.ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return cast(datetime, value.astimezone(UTC))
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise ValueError(f"not a date or time: {value!r}")


def busy_from_ics(data: bytes, *, zone: str, start: datetime, end: datetime) -> list[Interval]:
    """Merged busy intervals of the calendar ``data`` inside [start, end) (UTC, clipped)."""
    tz = zoneinfo.ZoneInfo(zone)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise FeedError(f"Not an iCalendar file: {str(exc)[:200]}") from exc
    if calendar.name != "VCALENDAR":
        raise FeedError("Not an iCalendar file: it does not start with BEGIN:VCALENDAR.")
    # Floating times are the person's local times: ask the expander in their zone's wall clock.
    local_start = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    local_end = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    try:
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(local_start, local_end)
    except Exception as exc:  # the library raises many types for broken rules and dates
        raise FeedError(f"The calendar could not be expanded: {type(exc).__name__}: {str(exc)[:200]}") from exc
    spans: list[Interval] = []
    for event in occurrences:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        dtstart = event.get("DTSTART")
        if dtstart is None:
            continue
        first = dtstart.dt
        if event.get("DTEND") is not None:
            last = event["DTEND"].dt
        elif event.get("DURATION") is not None:
            last = first + event["DURATION"].dt
        elif isinstance(first, datetime):
            last = first
        else:
            last = first + timedelta(days=1)
        try:
            a, b = _instant(first, tz), _instant(last, tz)
        except (ValueError, OverflowError):
            continue
        a, b = max(a, start), min(b, end)
        if a < b:
            spans.append((a, b))
        if len(spans) > MAX_INTERVALS * 4:
            break
    merged = normalize(spans)
    if len(merged) > MAX_INTERVALS:
        raise FeedError(f"The calendar has more than {MAX_INTERVALS} busy times in the horizon.")
    return merged
