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
    m.participations = Related(SimpleNamespace(person_id=p.pk, person=p, role=Participation.Role.HOST) for p in hosts)
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


def test_meetings_are_placed_on_rows_of_a_quarter_hour_under_their_room():
    a = meeting(1, "Welcome", utc(8), utc(9), at=BOARD)  # 09:00–10:00 Berlin
    b = meeting(2, "Tour", utc(9, 15), utc(10, 30), at=LAB)  # 10:15–11:30
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert [c.label for c in tl.columns] == ["Board room", "Lab 1"]
    assert [h.label for h in tl.hours] == ["09:00", "10:00", "11:00"]
    welcome, tour = tl.blocks
    assert (welcome.column, welcome.row_start, welcome.row_end) == (2, 2, 6)
    assert (tour.column, tour.row_start, tour.row_end) == (3, 7, 12)
    assert tl.rows == 12 and tl.total_columns == 3
    assert not tl.conflicts


def test_back_to_back_meetings_share_a_lane_and_do_not_clash():
    a = meeting(1, "One", utc(8), utc(9), at=LAB, hosts=[ANNA])
    b = meeting(2, "Two", utc(9), utc(10), at=LAB, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert [c.span for c in tl.columns] == [1]
    assert {blk.column for blk in tl.blocks} == {2}
    assert not tl.conflicts


def test_two_meetings_in_one_room_at_once_sit_side_by_side_and_are_flagged():
    a = meeting(1, "Board meeting", utc(8), utc(9), at=BOARD)
    b = meeting(2, "Press talk", utc(8, 30), utc(9, 30), at=BOARD)
    c = meeting(3, "Tour", utc(8), utc(9), at=LAB)
    (tl,) = timelines([a, b, c], "Europe/Berlin")
    board = next(col for col in tl.columns if col.label == "Board room")
    assert board.span == 2
    blocks = {blk.entry.meeting.title: blk for blk in tl.blocks}
    assert blocks["Board meeting"].column != blocks["Press talk"].column
    assert blocks["Board meeting"].conflicts == ["Board room is also booked for “Press talk”"]
    assert blocks["Press talk"].conflicts == ["Board room is also booked for “Board meeting”"]
    assert blocks["Tour"].conflicts == []


def test_a_host_in_two_rooms_at_once_is_flagged_by_name():
    a = meeting(1, "Welcome", utc(8), utc(9), at=BOARD, hosts=[ANNA, BEN])
    b = meeting(2, "Tour", utc(8, 45), utc(9, 30), at=LAB, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert [blk.conflicts for blk in tl.blocks] == [["Anna is also in “Tour”"], ["Anna is also in “Welcome”"]]


def test_a_cancelled_meeting_is_drawn_but_never_clashes():
    a = meeting(1, "Old slot", utc(8), utc(9), at=BOARD, hosts=[ANNA], status="cancelled")
    b = meeting(2, "New slot", utc(8), utc(9), at=BOARD, hosts=[ANNA])
    (tl,) = timelines([a, b], "Europe/Berlin")
    assert len(tl.blocks) == 2 and not tl.conflicts


def test_a_meeting_past_midnight_is_clipped_to_the_day():
    a = meeting(1, "Late lab", utc(21), utc(23, 30))  # 22:00–00:30 Berlin
    tl = day_timeline(itinerary([a], "Europe/Berlin")[0])
    (blk,) = tl.blocks
    assert tl.hours[-1].label == "23:00"
    assert blk.row_end == 2 + tl.rows


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
    assert body.count("tl-block kind-meeting conflict") == 2
    assert "Dr. Double Booked is also in “Lab visit”" in body
