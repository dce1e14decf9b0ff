"""Which days a visit takes: the requested length on working days inside a preferred window."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from visits.days import is_working_day, suggested_dates, working_days

MONDAY = date(2031, 3, 3)


def test_weekends_are_not_working_days():
    assert [is_working_day(MONDAY + timedelta(days=n)) for n in range(7)] == [True] * 5 + [False] * 2


@pytest.mark.parametrize(("start", "days", "count", "expected"), [
    (0, 5, 1, [0]),
    (0, 5, 2, [0, 1]),
    (5, 5, 1, [7]),            # Saturday to Thursday: Monday
    (4, 5, 2, [7, 8]),         # Friday to Wednesday: Monday and Tuesday back to back, not Friday and Monday
    (4, 4, 2, [7, 8]),
    (4, 3, 2, [4, 7]),         # Friday to Monday: the only two working days, over the weekend
    (5, 1, 1, [5]),            # a weekend-only window: the requester chose it
    (0, 0, 2, [0]),            # a one-day window holds one day, whatever was asked
])
def test_working_days(start, days, count, expected):
    window = (MONDAY + timedelta(days=start), MONDAY + timedelta(days=start + days))
    assert working_days(window, count) == [MONDAY + timedelta(days=d) for d in expected]


def test_suggested_dates_skip_a_window_that_has_passed(db):
    from tests.factories import VisitFactory
    from visits.models import PreferredWindow

    visit = VisitFactory(duration="one_day")
    PreferredWindow.objects.create(visit=visit, start=MONDAY - timedelta(days=14), end=MONDAY - timedelta(days=10))
    PreferredWindow.objects.create(visit=visit, start=MONDAY + timedelta(days=5), end=MONDAY + timedelta(days=9))
    assert suggested_dates(visit, today=MONDAY) == (MONDAY + timedelta(days=7),) * 2
    # Inside a window that has begun, the days already gone are not offered.
    assert suggested_dates(visit, today=MONDAY + timedelta(days=8)) == (MONDAY + timedelta(days=8),) * 2


@pytest.mark.django_db
def test_a_public_holiday_at_the_venue_is_not_a_working_day():
    from tests.factories import VenueFactory
    from visits.models import Visit

    visit = Visit(venue=VenueFactory(country="DE", subdivision="BE"))
    christmas = date(2026, 12, 25)  # a Friday
    assert not is_working_day(christmas, visit=visit) and is_working_day(christmas)
    # Wednesday 23 to Tuesday 29 December: two working days back to back skip the holidays (25, 26)
    assert working_days((date(2026, 12, 23), date(2026, 12, 29)), 2, visit=visit) == [date(2026, 12, 23),
                                                                                       date(2026, 12, 24)]
    assert working_days((date(2026, 12, 24), date(2026, 12, 29)), 2, visit=visit) == [date(2026, 12, 28),
                                                                                       date(2026, 12, 29)]
