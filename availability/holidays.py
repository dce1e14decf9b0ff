"""Public holidays at a venue, from the ``holidays`` package by the venue's country and subdivision.

A holiday closes the venue for the whole local day, like a room closure: ``availability.selectors``
adds each holiday of a room's venue to the room's busy time (so free slots, proposals and the booking
check all see it), ``scheduling.programme`` leaves holidays out of a visit's days, and
``visits.rules`` reports a programme day on a holiday. Only the package's ``public`` category counts
(24 December is an ordinary working day in Berlin; 25 December is not). A venue without a country
has no holidays; an unknown country or subdivision is treated the same way rather than failing a
booking over a typo in the venue's address.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays as holidays_package
from django.conf import settings

Interval = tuple[datetime, datetime]


@lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str, year: int, language: str) -> dict[date, str]:
    try:
        found = holidays_package.country_holidays(country.upper(), subdiv=subdivision.upper() or None, years=year,
                                                  language=language or None)
    except (NotImplementedError, KeyError, ValueError):
        return {}
    return dict(found.items())


def _language(language: str | None) -> str:
    """The package's language code for one of ours ("en" is "en_US" there; German is "de"). Without one,
    the site's language: the package would otherwise pick by the process's locale variables (``LANG``
    and friends), so the same call named a holiday "Women's Day" or "Frauentag" by environment."""
    language = language or settings.LANGUAGE_CODE
    return {"en": "en_US"}.get(language, language)


def holidays_between(*, country: str, subdivision: str = "", start: date, end: date,
                     language: str | None = None) -> dict[date, str]:
    """The public holidays in [start, end] (both inclusive) with their names, in ``language`` when the
    package has it (its default otherwise)."""
    if not country or end < start:
        return {}
    out: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        names = _calendar(country, subdivision, year, _language(language))
        if not names and language:
            names = _calendar(country, subdivision, year, "")
        out.update({d: name for d, name in names.items() if start <= d <= end})
    return dict(sorted(out.items()))


def holiday_spans(*, country: str, subdivision: str, zone: str, start: datetime, end: datetime) -> list[Interval]:
    """Each holiday touching [start, end) as a whole local day in the venue's zone, in UTC."""
    if not country:
        return []
    tz = zoneinfo.ZoneInfo(zone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    spans = []
    for day in holidays_between(country=country, subdivision=subdivision, start=first, end=last):
        a = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        b = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if a < end and b > start:
            spans.append((a, b))
    return spans


def holiday_on(*, country: str, subdivision: str, day: date, language: str | None = None) -> str:
    """The holiday's name when ``day`` is a public holiday there, else ""."""
    return holidays_between(country=country, subdivision=subdivision, start=day, end=day,
                            language=language).get(day, "")
