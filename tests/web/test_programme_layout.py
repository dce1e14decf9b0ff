"""The itinerary and the staff day timeline, laid out from plain meeting-shaped objects."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from events.models import Meeting, Participation
from tests.factories import MeetingFactory, ParticipationFactory, PersonFactory, RoomFactory, UserFactory
from web.programme import day_timeline, itinerary, timelines

from .conftest import local, next_weekday, request_visit


class Related(list):
    def all(self):
        return self


def room(pk, name):
    return SimpleNamespace(pk=pk, name=name, venue=SimpleNamespace(name="Campus", address=""))


def person(pk, name):
    return SimpleNamespace(pk=pk, name=name, job_title="")


def meeting(pk, title, start, end, *, at=None, hosts=(), status="scheduled", kind="meeting"):
    m = SimpleNamespace(
        pk=pk, title=title, starts_at=start, ends_at=end, room=at, room_id=at.pk if at else None, location="",
        status=status, kind=kind,
    )
    m.participations = Related(SimpleNamespace(person_id=p.pk, person=p, role=Participation.Role.HOST, blocks_time=True)
                              for p in hosts)
    m.agenda_items = Related()
    return m


def utc(hh, mm=0, day=2):
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC)


LAB, BOARD = room(1, "Lab 1"), room(2, "Board room")
ANNA, BEN = person(1, "Anna"), person(2, "Ben")


def test_itinerary_groups_by_the_visits_local_day():
    late = meeting(1, "Dinner", utc(23, 30, day=2), utc(23, 59, day=2))  # 00:30 on the 3rd in Berlin
    early = meeting(2, "Breakfast", utc(7), utc(8))
    days = itinerary([late, early], "Europe/Berlin")
    assert [d.day.day for d in days] == [2, 3]
    assert days[0].entries[0].starts.strftime("%H:%M") == "08:00"
    assert days[1].entries[0].meeting.title == "Dinner"


def test_meetings_are_placed_in_minutes_under_their_room_and_every_room_has_a_lane():
    a = meeting(1, "Welcome", utc(8), utc(9), at=BOARD)  # 09:00–10:00 Berlin
    b = meeting(2, "Tour", utc(9, 15), utc(10, 30), at=LAB)  # 10:15–11:30
    spare = room(3, "Spare room")
    (tl,) = timelines([a, b], "Europe/Berlin", rooms=[BOARD, LAB, spare])
    assert [(lane.label, lane.room_id) for lane in tl.lanes] == [("Board room", 2), ("Lab 1", 1), ("Spare room", 3)]
    assert [h.label for h in tl.hours][:3] == ["08:00", "09:00", "10:00"]  # a working day, to plan into
    assert tl.origin == 8 * 60 and tl.minutes == 11 * 60 and tl.rows == 44
    welcome, tour = tl.blocks
    assert (welcome.lane, welcome.start, welcome.end) == (0, 60, 120)
    assert (tour.lane, tour.start, tour.end) == (1, 135, 210)
    assert not tl.conflicts


def test_an_empty_day_of_the_visit_still_gets_a_grid():
    from datetime import date

    tls = timelines([], "Europe/Berlin", rooms=[LAB], days=[date(2026, 12, 3)])
    assert [tl.day for tl in tls] == [date(2026, 12, 3)]
    assert tls[0].blocks == [] and [lane.label for lane in tls[0].lanes] == ["Lab 1"]


def test_early_and_late_meetings_widen_the_grid():
    a = meeting(1, "Breakfast", utc(6), utc(7))  # 07:00 Berlin
    b = meeting(2, "Dinner", utc(19), utc(20, 30))  # 20:00–21:30
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert tl.hours[0].label == "07:00" and tl.hours[-1].label == "21:00"


def test_back_to_back_meetings_share_a_lane_and_do_not_clash():
    a = meeting(1, "One", utc(8), utc(9), at=LAB, hosts=[ANNA])
    b = meeting(2, "Two", utc(9), utc(10), at=LAB, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert len(tl.lanes) == 1
    assert [(blk.lane, blk.sub) for blk in tl.blocks] == [(0, 0), (0, 0)]
    assert not tl.conflicts


def test_two_meetings_in_one_room_at_once_are_indented_and_flagged():
    a = meeting(1, "Board meeting", utc(8), utc(9), at=BOARD)
    b = meeting(2, "Press talk", utc(8, 30), utc(9, 30), at=BOARD)
    c = meeting(3, "Tour", utc(8), utc(9), at=LAB)
    (tl,) = timelines([a, b, c], "Europe/Berlin")
    blocks = {blk.entry.meeting.title: blk for blk in tl.blocks}
    assert blocks["Board meeting"].lane == blocks["Press talk"].lane != blocks["Tour"].lane
    assert (blocks["Board meeting"].sub, blocks["Press talk"].sub) == (0, 1)
    assert blocks["Board meeting"].conflicts == ["Board room is also booked for “Press talk”"]
    assert blocks["Press talk"].conflicts == ["Board room is also booked for “Board meeting”"]
    assert blocks["Tour"].conflicts == []


def test_a_host_in_two_rooms_at_once_is_flagged_by_name():
    a = meeting(1, "Welcome", utc(8), utc(9), at=BOARD, hosts=[ANNA, BEN])
    b = meeting(2, "Tour", utc(8, 45), utc(9, 30), at=LAB, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert [blk.conflicts for blk in tl.blocks] == [["Anna is also in “Tour”"], ["Anna is also in “Welcome”"]]
    assert tl.blocks[0].blockers == [1, 2]


def test_a_cancelled_meeting_is_drawn_but_never_clashes():
    a = meeting(1, "Old slot", utc(8), utc(9), at=BOARD, hosts=[ANNA], status="cancelled")
    b = meeting(2, "New slot", utc(8), utc(9), at=BOARD, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert len(tl.blocks) == 2 and not tl.conflicts
    subs = {blk.entry.meeting.title: blk.sub for blk in tl.blocks}
    assert subs == {"New slot": 0, "Old slot": 1}  # the live meeting keeps the full width


def test_a_meeting_past_midnight_is_clipped_to_the_day():
    a = meeting(1, "Late lab", utc(21), utc(23, 30))  # 22:00–00:30 Berlin
    tl = day_timeline(itinerary([a], "Europe/Berlin")[0])
    (blk,) = tl.blocks
    assert tl.hours[-1].label == "23:00"
    assert blk.end == tl.minutes


@pytest.mark.django_db
def test_the_staff_page_makes_a_double_booked_host_impossible_to_miss(client):
    """Data that slipped past the guards (here: a participation whose blocking copy was lost) still renders."""
    from visits.models import ProgrammeSlot
    from visits.services import visit_confirm

    visit = request_visit()
    day = next_weekday(visit.preferred_windows.first().start, 0)
    visit = visit_confirm(visit=visit, starts_on=day, ends_on=day)
    host = PersonFactory(name="Dr. Double Booked")
    first = MeetingFactory(title="Strategy talk", starts_at=local(day, 10), ends_at=local(day, 11), room=RoomFactory())
    second = MeetingFactory(title="Lab visit", starts_at=local(day, 10, 30), ends_at=local(day, 11, 30), room=RoomFactory())
    for m in (first, second):
        ParticipationFactory(meeting=m, person=host, role=Participation.Role.HOST, blocks_time=False)
        ProgrammeSlot.objects.create(visit=visit, meeting=m)
    assert Meeting.objects.filter(status="scheduled").count() == 2
    client.force_login(UserFactory(username="coordinator-x", is_staff=True))
    body = client.get(f"/staff/visits/{visit.pk}/").content.decode()
    assert 'class="conflict-summary" role="alert"' in body
    assert "2 meetings clash with others." in body
    assert body.count("tl-block kind-meeting conflict") == 2  # drawn by the server, before any script
    assert "Dr. Double Booked is also in “Lab visit”" in body
