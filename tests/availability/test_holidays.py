"""Public holidays at a venue close its rooms like a closure: busy time, free slots, the booking check.

Women's Day (8 March) is a public holiday in Berlin (``BE``) but not in Hamburg (``HH``); Christmas Day
is one everywhere in Germany; 24 December is not a public holiday.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from availability.holidays import holiday_on, holidays_between
from availability.selectors import busy_intervals, free_slots
from availability.services import meeting_availability_problems
from events.models import Room, Venue

from .conftest import berlin, engines

pytestmark = pytest.mark.django_db


def room_in(subdivision: str, country: str = "DE") -> Room:
    venue = Venue.objects.create(name=f"Campus {subdivision or country}", country=country, subdivision=subdivision,
                                 timezone="Europe/Berlin")
    return Room.objects.create(venue=venue, name="Board room", capacity=14)


def test_the_package_knows_berlin_and_the_language():
    assert holiday_on(country="DE", subdivision="BE", day=date(2027, 3, 8)) == "Women's Day"
    assert holiday_on(country="DE", subdivision="HH", day=date(2027, 3, 8)) == ""
    assert holiday_on(country="DE", subdivision="", day=date(2026, 12, 24)) == ""
    assert holiday_on(country="DE", subdivision="BE", day=date(2026, 12, 25), language="de") == "Erster Weihnachtstag"
    assert holidays_between(country="", start=date(2026, 12, 25), end=date(2026, 12, 26)) == {}
    assert holidays_between(country="XX", subdivision="YY", start=date(2026, 12, 25), end=date(2026, 12, 26)) == {}


@pytest.mark.parametrize("engine", engines())
def test_a_holiday_closes_the_venue_rooms_for_the_whole_local_day(engine):
    berlin_room, hamburg_room, nowhere = room_in("BE"), room_in("HH"), room_in("", country="")
    start, end = berlin(2027, 3, 7, 12), berlin(2027, 3, 9, 12)
    busy = busy_intervals(rooms=[berlin_room.pk, hamburg_room.pk, nowhere.pk], start=start, end=end, engine=engine)
    assert busy.rooms[berlin_room.pk] == [(berlin(2027, 3, 8), berlin(2027, 3, 9))]
    assert busy.rooms[hamburg_room.pk] == [] and busy.rooms[nowhere.pk] == []


@pytest.mark.parametrize("engine", engines())
def test_free_slots_skip_the_holiday(engine):
    room = room_in("BE")
    slots = free_slots(rooms=[room.pk], start=berlin(2027, 3, 8, 9), end=berlin(2027, 3, 9, 17),
                       duration=timedelta(hours=1), tz="Europe/Berlin", engine=engine)
    assert slots and all(s.starts_at >= berlin(2027, 3, 9) for s in slots)


def test_the_booking_check_says_the_room_is_closed_for_the_holiday():
    room = room_in("BE")
    problems = meeting_availability_problems(starts_at=berlin(2027, 3, 8, 10), ends_at=berlin(2027, 3, 8, 11),
                                             people=[], room=room)
    assert [(p.reason, p.detail) for p in problems] == [("room_closed", "Women's Day")]
    assert "08 Mar 2027 is a public holiday" in problems[0].message
    assert meeting_availability_problems(starts_at=berlin(2027, 3, 9, 10), ends_at=berlin(2027, 3, 9, 11),
                                         people=[], room=room) == []
