"""Which days a visit can take place on, and the dates a confirmation suggests.

``is_working_day`` is the one place that decides whether a day can hold a programme: Monday to
Friday, and not a public holiday at the visit's venue (``availability.holidays``: the ``holidays``
package by the venue's country and subdivision). Every caller — the confirmation's default dates
and the confirm form's pre-filled ones — follows it.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone as djtz

from availability.holidays import holiday_on

from .models import Visit


def is_working_day(day: date, *, visit: Visit | None = None) -> bool:
    """Whether ``day`` can hold a programme (``visit``: whose venue's public holidays count)."""
    if day.weekday() >= 5:
        return False
    venue = visit.venue if visit is not None else None
    if venue is None or not venue.country:
        return True
    return not holiday_on(country=venue.country, subdivision=venue.subdivision, day=day)


def working_days(window: tuple[date, date], count: int, *, visit: Visit | None = None) -> list[date]:
    """The first ``count`` working days inside ``window`` (inclusive), back to back where they can be.

    Prefers the first run of consecutive calendar days that are all working days (a two-day visit
    on Tue+Wed, not Fri+Mon); else the first working days the window has; a window without any
    (a weekend) gives its first days, since the requester chose it.
    """
    start, end = window
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    count = max(1, count)
    for n in range(len(days) - count + 1):
        run = days[n:n + count]
        if all(is_working_day(d, visit=visit) for d in run):
            return run
    working = [d for d in days if is_working_day(d, visit=visit)]
    return (working or days)[:count]


def suggested_dates(visit: Visit, *, today: date | None = None) -> tuple[date, date] | None:
    """The dates a confirmation takes when none are given: the requested length inside the first
    preferred window that has not passed (else the first one), skipping days off; the whole first
    window when the request did not say how long. None without any window."""
    windows = list(visit.preferred_windows.all())
    if not windows:
        return None
    wanted = visit.days_wanted
    if wanted is None:
        return windows[0].start, windows[0].end
    today = today or djtz.localdate()
    window = next((w for w in windows if w.end >= today), windows[0])
    span = (max(window.start, today) if window.end >= today else window.start, window.end)
    days = working_days(span, wanted, visit=visit)
    return days[0], days[-1]
