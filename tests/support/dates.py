"""Dates relative to today that a programme can use: tests that build visits "in 30 days" must not
land on a weekend or a public holiday at the factories' venues (Germany), or the solver rightly
refuses the day and the test depends on the calendar."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
from django.utils import timezone as djtz


def working_day_from(days: int, *, country: str = "DE", subdivision: str | None = None) -> date:
    """The first weekday at least ``days`` from today that is no public holiday in ``country``."""
    day = djtz.localdate() + timedelta(days=days)
    closed = holidays.country_holidays(country, subdiv=subdivision, years=range(day.year, day.year + 2))
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day
