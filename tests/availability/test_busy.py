"""busy_intervals: working hours across DST in two zones, absences, closures, meetings; both paths agree."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from availability.models import Absence, ExternalBusy, ExternalCalendar, HoursException, RoomClosure, WeeklyHours
from availability.selectors import busy_intervals
from events.models import Meeting, Participation
from tests.factories import MeetingFactory, ParticipationFactory, PersonFactory, RoomFactory

from .conftest import berlin, engines, office_hours, utc

pytestmark = pytest.mark.django_db


def _both(**kwargs):
    """The answer of every available path; they must agree, and the first is returned."""
    answers = [busy_intervals(engine=engine, **kwargs) for engine in engines()]
    for other in answers[1:]:
        assert other == answers[0]
    return answers[0]


def test_a_person_without_working_hours_is_busy_only_in_meetings():
    person = PersonFactory()
    meeting = MeetingFactory(starts_at=utc(2026, 12, 1, 9), ends_at=utc(2026, 12, 1, 10))
    ParticipationFactory(meeting=meeting, person=person, role=Participation.Role.GUEST)
    busy = _both(people=[person.pk], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert busy.people == {person.pk: [(utc(2026, 12, 1, 9), utc(2026, 12, 1, 10))]}
    assert busy.rooms == {}


def test_every_requested_id_is_present_even_when_free():
    person, room = PersonFactory(), RoomFactory()
    busy = _both(people=[person.pk], rooms=[room.pk], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert busy.people == {person.pk: []} and busy.rooms == {room.pk: []}


def test_working_hours_follow_the_wall_clock_across_dst_in_two_zones():
    """09:00–17:00 local is 08:00–16:00 UTC before and 07:00–15:00 after Berlin's spring change
    (29 March 2026); New York changed three weeks earlier (8 March), so on 23 March the two zones
    are only four hours apart."""
    berliner = PersonFactory(timezone="Europe/Berlin")
    new_yorker = PersonFactory(timezone="America/New_York")
    office_hours(berliner)
    office_hours(new_yorker)
    # Friday 27 March (Berlin still CET, New York already EDT) and Monday 30 March (both summer time)
    friday = _both(people=[berliner.pk, new_yorker.pk], start=utc(2026, 3, 27), end=utc(2026, 3, 28))
    assert friday.people[berliner.pk] == [(utc(2026, 3, 27), utc(2026, 3, 27, 8)), (utc(2026, 3, 27, 16), utc(2026, 3, 28))]
    assert friday.people[new_yorker.pk] == [(utc(2026, 3, 27), utc(2026, 3, 27, 13)), (utc(2026, 3, 27, 21), utc(2026, 3, 28))]
    monday = _both(people=[berliner.pk], start=utc(2026, 3, 30), end=utc(2026, 3, 31))
    assert monday.people[berliner.pk] == [(utc(2026, 3, 30), utc(2026, 3, 30, 7)), (utc(2026, 3, 30, 15), utc(2026, 3, 31))]
    # the weekend in between is busy all day (no hours on Saturday and Sunday)
    weekend = _both(people=[berliner.pk], start=utc(2026, 3, 28), end=utc(2026, 3, 30))
    assert weekend.people[berliner.pk] == [(utc(2026, 3, 28), utc(2026, 3, 30))]
    # autumn: New York falls back on 1 November 2026, 09:00 EST = 14:00 UTC
    autumn = _both(people=[new_yorker.pk], start=utc(2026, 11, 2), end=utc(2026, 11, 3))
    assert autumn.people[new_yorker.pk] == [(utc(2026, 11, 2), utc(2026, 11, 2, 14)), (utc(2026, 11, 2, 22), utc(2026, 11, 3))]


def test_several_intervals_a_day_and_dated_exceptions():
    person = PersonFactory(timezone="Europe/Berlin")
    WeeklyHours.objects.create(person=person, weekday=1, start=time(8), end=time(12))
    WeeklyHours.objects.create(person=person, weekday=1, start=time(13), end=time(16))
    HoursException.objects.create(person=person, date=berlin(2026, 12, 8).date(), start=time(10), end=time(11))
    HoursException.objects.create(person=person, date=berlin(2026, 12, 15).date())  # day off
    tuesday = _both(people=[person.pk], start=berlin(2026, 12, 1), end=berlin(2026, 12, 2))
    assert tuesday.people[person.pk] == [
        (utc(2026, 11, 30, 23), utc(2026, 12, 1, 7)), (utc(2026, 12, 1, 11), utc(2026, 12, 1, 12)),
        (utc(2026, 12, 1, 15), utc(2026, 12, 1, 23)),
    ]
    exception = _both(people=[person.pk], start=berlin(2026, 12, 8), end=berlin(2026, 12, 9))
    assert exception.people[person.pk] == [(utc(2026, 12, 7, 23), utc(2026, 12, 8, 9)), (utc(2026, 12, 8, 10), utc(2026, 12, 8, 23))]
    off = _both(people=[person.pk], start=berlin(2026, 12, 15), end=berlin(2026, 12, 16))
    assert off.people[person.pk] == [(utc(2026, 12, 14, 23), utc(2026, 12, 15, 23))]


def test_exceptions_alone_limit_only_their_dates():
    person = PersonFactory(timezone="Europe/Berlin")
    HoursException.objects.create(person=person, date=berlin(2026, 12, 24).date(), start=time(9), end=time(12))
    busy = _both(people=[person.pk], start=berlin(2026, 12, 23), end=berlin(2026, 12, 26))
    assert busy.people[person.pk] == [(utc(2026, 12, 23, 23), utc(2026, 12, 24, 8)), (utc(2026, 12, 24, 11), utc(2026, 12, 24, 23))]


def test_absences_and_imported_busy_times_merge_with_meetings():
    person = PersonFactory()
    Absence.objects.create(person=person, starts_at=utc(2026, 12, 1, 8), ends_at=utc(2026, 12, 1, 10), reason="Dentist")
    calendar = ExternalCalendar.objects.create(person=person, url="https://calendar.example.org/secret.ics")
    ExternalBusy.objects.create(calendar=calendar, person=person, starts_at=utc(2026, 12, 1, 10), ends_at=utc(2026, 12, 1, 11))
    ExternalBusy.objects.create(calendar=calendar, person=person, starts_at=utc(2026, 12, 1, 14), ends_at=utc(2026, 12, 1, 15))
    meeting = MeetingFactory(starts_at=utc(2026, 12, 1, 14, 30), ends_at=utc(2026, 12, 1, 16))
    ParticipationFactory(meeting=meeting, person=person, role=Participation.Role.HOST)
    busy = _both(people=[person.pk], start=utc(2026, 12, 1, 9), end=utc(2026, 12, 1, 15, 30))
    assert busy.people[person.pk] == [(utc(2026, 12, 1, 9), utc(2026, 12, 1, 11)), (utc(2026, 12, 1, 14), utc(2026, 12, 1, 15, 30))]


def test_cancelled_and_excluded_meetings_do_not_count():
    person = PersonFactory()
    room = RoomFactory()
    cancelled = MeetingFactory(room=room, starts_at=utc(2026, 12, 1, 9), ends_at=utc(2026, 12, 1, 10),
                               status=Meeting.Status.CANCELLED)
    ParticipationFactory(meeting=cancelled, person=person)
    moving = MeetingFactory(room=room, starts_at=utc(2026, 12, 1, 11), ends_at=utc(2026, 12, 1, 12))
    ParticipationFactory(meeting=moving, person=person, role=Participation.Role.CHAIR)
    busy = _both(people=[person.pk], rooms=[room.pk], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert busy.people[person.pk] == busy.rooms[room.pk] == [(utc(2026, 12, 1, 11), utc(2026, 12, 1, 12))]
    busy = _both(people=[person.pk], rooms=[room.pk], start=utc(2026, 12, 1), end=utc(2026, 12, 2),
                 exclude_meetings=[moving.pk])
    assert busy.people[person.pk] == busy.rooms[room.pk] == []


def test_rooms_busy_outside_bookable_hours_in_the_venue_zone_and_during_closures():
    room = RoomFactory(bookable_from=time(8), bookable_until=time(18), venue__timezone="America/New_York")
    RoomClosure.objects.create(room=room, starts_at=utc(2026, 7, 1, 15), ends_at=utc(2026, 7, 1, 17), reason="Paint")
    busy = _both(rooms=[room.pk], start=utc(2026, 7, 1), end=utc(2026, 7, 2))
    # 08:00–18:00 EDT = 12:00–22:00 UTC
    assert busy.rooms[room.pk] == [(utc(2026, 7, 1), utc(2026, 7, 1, 12)), (utc(2026, 7, 1, 15), utc(2026, 7, 1, 17)),
                                   (utc(2026, 7, 1, 22), utc(2026, 7, 2))]


def test_intervals_are_clipped_to_the_window_and_aware_utc():
    person = PersonFactory()
    Absence.objects.create(person=person, starts_at=utc(2026, 11, 1), ends_at=utc(2026, 12, 31))
    busy = _both(people=[person.pk], start=berlin(2026, 12, 1, 9), end=berlin(2026, 12, 1, 10))
    assert busy.people[person.pk] == [(utc(2026, 12, 1, 8), utc(2026, 12, 1, 9))]
    assert busy.people[person.pk][0][0].utcoffset() == timedelta(0)
