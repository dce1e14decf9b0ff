"""Property tests (hypothesis): the free-slot search against a brute-force check, and both paths equal.

For random people (working hours in random zones, meetings, absences, imported busy times) and rooms
(bookable hours, closures, meetings) around DST changes:

* no returned slot overlaps any busy interval of any listed person, and every room a slot lists is
  free for all of it;
* no slot is missed: every grid start in the window where everyone is free for ``duration`` (and,
  with rooms, at least one room is) is returned, found by checking each minute against the raw rows;
* on PostgreSQL, the multirange path answers exactly what the Python path answers.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from availability import hours
from availability.models import Absence, ExternalBusy, ExternalCalendar, RoomClosure, WeeklyHours
from availability.selectors import busy_intervals, free_slots
from events.models import Participation
from tests.factories import MeetingFactory, PersonFactory, RoomFactory, VenueFactory

from .conftest import engines

pytestmark = pytest.mark.django_db(transaction=False)

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]
#: Windows of three days: ordinary, across Berlin's spring change, across New York's autumn change.
WINDOW_STARTS = [datetime(2026, 6, 8, tzinfo=UTC), datetime(2026, 3, 27, 18, tzinfo=UTC),
                 datetime(2026, 10, 30, 22, tzinfo=UTC)]
WINDOW = timedelta(days=3)
MINUTES = int(WINDOW.total_seconds() // 60)

span = st.tuples(st.integers(-120, MINUTES + 60), st.integers(5, 8 * 60))
clock = st.integers(0, 23 * 60 + 59).map(lambda m: time(m // 60, m % 60))
weekly = st.lists(st.tuples(st.integers(0, 6), clock, clock).filter(lambda w: w[1] < w[2]), max_size=6)
person = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES), "weekly": weekly, "meetings": st.lists(span, max_size=5),
    "absences": st.lists(span, max_size=2), "external": st.lists(span, max_size=4),
})
room = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES),
    "hours": st.one_of(st.none(), st.tuples(st.one_of(st.none(), clock), st.one_of(st.none(), clock))),
    "meetings": st.lists(span, max_size=5), "closures": st.lists(span, max_size=2),
})
scenario = st.fixed_dictionaries({
    "start": st.sampled_from(WINDOW_STARTS), "offset": st.integers(0, 59),
    "people": st.lists(person, min_size=0, max_size=3), "rooms": st.lists(room, min_size=0, max_size=3),
    "duration": st.sampled_from([15, 30, 45, 60, 90]), "granularity": st.sampled_from([5, 15, 30, 60]),
    "tz": st.sampled_from(ZONES),
}).filter(lambda s: s["people"] or s["rooms"])


def _at(start: datetime, pair) -> tuple[datetime, datetime]:
    a = start + timedelta(minutes=pair[0])
    return a, a + timedelta(minutes=pair[1])


def _build(s):
    """Rows for the scenario; returns ids and the raw busy rows per person/room for the brute force."""
    start = s["start"] + timedelta(minutes=s["offset"])
    people, rooms, raw_people, raw_rooms = [], [], {}, {}
    for spec in s["people"]:
        p = PersonFactory(timezone=spec["zone"])
        WeeklyHours.objects.bulk_create(WeeklyHours(person=p, weekday=d, start=a, end=b) for d, a, b in spec["weekly"])
        rows = []
        for pair in spec["meetings"]:
            a, b = _at(start, pair)
            m = MeetingFactory(room=None, starts_at=a, ends_at=b)
            Participation.objects.create(meeting=m, person=p, role=Participation.Role.GUEST, starts_at=a, ends_at=b)
            rows.append((a, b))
        for pair in spec["absences"]:
            a, b = _at(start, pair)
            Absence.objects.create(person=p, starts_at=a, ends_at=b)
            rows.append((a, b))
        if spec["external"]:
            cal = ExternalCalendar.objects.create(person=p, url="https://calendar.example.org/x.ics")
            for pair in spec["external"]:
                a, b = _at(start, pair)
                ExternalBusy.objects.create(calendar=cal, person=p, starts_at=a, ends_at=b)
                rows.append((a, b))
        people.append(p.pk)
        pattern = hours.person_patterns([p.pk]).get(p.pk)
        raw_people[p.pk] = (rows, pattern)
    for spec in s["rooms"]:
        a_hour, b_hour = spec["hours"] or (None, None)
        r = RoomFactory(venue=VenueFactory(timezone=spec["zone"]), bookable_from=a_hour, bookable_until=b_hour)
        rows = []
        for pair in sorted(spec["meetings"]):
            a, b = _at(start, pair)
            if any(a < y and b > x for x, y in rows):
                continue  # a room cannot hold two overlapping scheduled meetings (exclusion constraint)
            MeetingFactory(room=r, starts_at=a, ends_at=b)
            rows.append((a, b))
        for pair in spec["closures"]:
            a, b = _at(start, pair)
            RoomClosure.objects.create(room=r, starts_at=a, ends_at=b)
            rows.append((a, b))
        rooms.append(r.pk)
        pattern = hours.room_pattern(zone=spec["zone"], bookable_from=a_hour, bookable_until=b_hour)
        raw_rooms[r.pk] = (rows, pattern)
    return start, people, rooms, raw_people, raw_rooms


def _free(raw, pattern, a, b, *, person: bool) -> bool:
    rows, _ = raw
    if any(x < b and y > a for x, y in rows):
        return False
    if pattern is None:
        return True
    spans = hours.open_hours(pattern, a, b) if person else hours.expand(pattern, a, b)
    return any(x <= a and b <= y for x, y in spans)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(s=scenario)
def test_slots_are_free_and_none_is_missed(s):
    with transaction.atomic():
        start, people, rooms, raw_people, raw_rooms = _build(s)
        end = start + WINDOW
        duration, granularity = timedelta(minutes=s["duration"]), timedelta(minutes=s["granularity"])
        answers = {engine: free_slots(people=people, rooms=rooms, start=start, end=end, duration=duration,
                                      granularity=granularity, tz=s["tz"], engine=engine) for engine in engines()}
        busy = {engine: busy_intervals(people=people, rooms=rooms, start=start, end=end, engine=engine)
                for engine in engines()}
        slots = answers["python"]
        for engine in engines():
            assert answers[engine] == slots, engine
            assert busy[engine] == busy["python"], engine
        # 1. nothing returned overlaps a busy interval; listed rooms are free for the whole slot
        for slot in slots:
            assert slot.ends_at - slot.starts_at == duration and start <= slot.starts_at and slot.ends_at <= end
            for spans in busy["python"].people.values():
                assert not any(a < slot.ends_at and b > slot.starts_at for a, b in spans), slot
            for rid in slot.rooms:
                assert not any(a < slot.ends_at and b > slot.starts_at for a, b in busy["python"].rooms[rid]), slot
            assert bool(slot.rooms) == bool(rooms)
        # 2. brute force over every minute of the window: what is free on the grid is returned
        zone = zoneinfo.ZoneInfo(s["tz"])
        expected = {}
        t = start.replace(second=0, microsecond=0)
        if t < start:
            t += timedelta(minutes=1)
        while t + duration <= end:
            local = t.astimezone(zone)
            on_grid = (local.hour * 60 + local.minute) % s["granularity"] == 0
            if on_grid and all(_free(raw_people[p], raw_people[p][1], t, t + duration, person=True) for p in people):
                free_rooms = [r for r in rooms if _free(raw_rooms[r], raw_rooms[r][1], t, t + duration, person=False)]
                if free_rooms or not rooms:
                    expected[t] = sorted(free_rooms)
            t += timedelta(minutes=1)
        assert {slot.starts_at: slot.rooms for slot in slots} == expected
        transaction.set_rollback(True)
