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

**Bounded work.** A 198-byte ``RRULE:FREQ=SECONDLY`` has 15 million occurrences in half a year, and
the library's ``between()`` builds them all in a list (and dateutil's rule cache keeps every date it
ever produced) before anyone can count them. Here each series is expanded lazily, one date at a
time from uncached rules, only up to the end of the horizon, and every date a rule produces — before
the horizon, inside it, TRANSPARENT or CANCELLED alike — is charged to one budget
(``max_occurrences``). Past the budget the feed is refused with a clear message; nothing is built
that the budget did not pay for. ``ics_sandbox`` adds a hard memory and CPU bound around all of it.
"""

from __future__ import annotations

import contextvars
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import icalendar
import recurring_ical_events
from dateutil.rrule import rrule
from recurring_ical_events import CalendarQuery
from recurring_ical_events.selection.name import ComponentsWithName
from recurring_ical_events.series import Series

from .errors import FeedError
from .intervals import Interval, normalize

#: More distinct busy intervals than any real person has in half a year; beyond it the feed is refused.
MAX_INTERVALS = 20_000
#: Occurrences (dates produced by any rule, before or inside the horizon, busy or not) one import may
#: expand; the default of ``VISITDESK_BUSY_MAX_OCCURRENCES``. A full diary — 20 meetings a day for
#: half a year, plus a daily series started ten years ago — needs a fifth of it. Each costs the
#: library about 50 µs, so the budget also bounds the CPU time to a few seconds.
MAX_OCCURRENCES = 50_000


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self) -> None:
        self.spent += 1
        if self.spent > self.limit:
            raise _OverBudget


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("busy_import_budget")


class _LazyRule:
    """One rule of a series, iterated lazily and uncached, every produced date charged to the budget.

    Stands in for the dateutil rule inside the library's series, which only calls ``between`` (in
    dateutil a complete list) and reads ``until``. An EXDATE'd date inside the span is not charged:
    there are no more of those than the file holds.
    """

    def __init__(self, rule: Any, budget: _Budget) -> None:
        self.until = getattr(rule, "until", None)
        # rrules are created with cache=True, which keeps every date from DTSTART on; an rruleset
        # here only holds the series' explicit dates (RDATE, DTSTART), already in memory.
        self._rule = rule.replace(cache=False) if isinstance(rule, rrule) else rule
        self._budget = budget

    def between(self, after: datetime, before: datetime, inc: bool = False) -> Iterator[datetime]:
        """Dates in the span; those before it are charged here, those in it when they become
        occurrences (``busy_from_ics``), so each date costs one unit."""
        for moment in self._rule:
            if moment > before or (moment == before and not inc):
                return
            if moment > after or (moment == after and inc):
                yield moment
            else:
                self._budget.spend()


class _BoundedRecurrence(Series.RecurrenceRules):  # type: ignore[misc]  # the library is untyped
    rrules: list[Any]  # the rruleset of explicit dates, then one rrule per RRULE (set by the library)

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        budget = _budget.get()
        self.rrules = [_LazyRule(rule, budget) for rule in self.rrules]


class _BoundedSeries(Series):  # type: ignore[misc]
    RecurrenceRules = _BoundedRecurrence


_EVENTS = ComponentsWithName("VEVENT", series=_BoundedSeries)


def _instant(value: Any, zone: zoneinfo.ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return cast(datetime, value.astimezone(UTC))
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise ValueError(f"not a date or time: {value!r}")


def _shows_free(occurrence: Any, known: dict[Any, bool]) -> bool:
    """TRANSPARENT or CANCELLED: the occurrence's own component (an override may differ from its series).

    The library keeps the component on its adapter and would otherwise copy it for every occurrence;
    ``known`` remembers the answer per component.
    """
    adapter = occurrence._adapter  # read-only; recurring-ical-events 3.x
    if adapter not in known:
        component = adapter._component
        known[adapter] = (str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
                          or str(component.get("STATUS", "")).upper() == "CANCELLED")
    return known[adapter]


def busy_from_ics(data: bytes, *, zone: str, start: datetime, end: datetime,
                  max_occurrences: int = MAX_OCCURRENCES) -> list[Interval]:
    """Merged busy intervals of the calendar ``data`` inside [start, end) (UTC, clipped).

    Raises FeedError (a short message for the owner, never quoting the feed) for a file that is not
    a calendar, cannot be expanded, or needs more than ``max_occurrences`` occurrences.
    """
    tz = zoneinfo.ZoneInfo(zone)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except MemoryError:
        raise  # the sandbox's limit, reported as such
    except Exception as exc:  # icalendar raises many types for broken input
        raise FeedError("Not an iCalendar file: it could not be parsed.") from exc
    if getattr(calendar, "name", None) != "VCALENDAR":
        raise FeedError("Not an iCalendar file: it does not start with BEGIN:VCALENDAR.")
    # Floating times are the person's local times: ask the expander in their zone's wall clock.
    local_start = start.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    local_end = end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    budget = _Budget(max_occurrences)
    token = _budget.set(budget)
    spans: list[Interval] = []
    free: dict[Any, bool] = {}
    try:
        query = recurring_ical_events.of(calendar, components=[_EVENTS], skip_bad_series=True)
        skip = tuple(CalendarQuery.suppressed_errors)
        for series in query.series:
            try:
                for occurrence in series.between(local_start, local_end):
                    budget.spend()
                    if _shows_free(occurrence, free):
                        continue
                    try:
                        a, b = _instant(occurrence.start, tz), _instant(occurrence.end, tz)
                    except (ValueError, OverflowError):
                        continue
                    a, b = max(a, start), min(b, end)
                    if a < b:
                        spans.append((a, b))
            except skip:
                continue
    except _OverBudget:
        raise FeedError(f"The calendar repeats too often: more than {max_occurrences:,} occurrences "
                        "would have to be expanded. Shorten its repeating events.") from None
    except (FeedError, MemoryError):
        raise
    except Exception as exc:  # the library raises many types for broken rules and dates
        raise FeedError(f"The calendar could not be expanded ({type(exc).__name__}).") from exc
    finally:
        _budget.reset(token)
    merged = normalize(spans)
    if len(merged) > MAX_INTERVALS:
        raise FeedError(f"The calendar has more than {MAX_INTERVALS:,} busy times in the horizon.")
    return merged
