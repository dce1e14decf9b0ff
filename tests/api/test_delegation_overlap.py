"""Delegations are people too: a member cannot be in two meetings of their visit at the same time.

Members of the visiting delegation take part as guests, but unlike other guests their
participations are exclusive: a write that would put them in two places at once is refused with a
409 naming the other meeting (like hosts and rooms), and on PostgreSQL the participation exclusion
constraint refuses it even if the service's check were bypassed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from events.errors import ScheduleConflict
from events.models import Meeting, Participation
from events.services import ParticipantSpec, meeting_create, meeting_reschedule
from tests.api.conftest import next_week
from tests.factories import PersonFactory, RoomFactory
from visits import booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme(world):
    """``world.visit``'s delegation (contact + one member) as guests in two meetings, 11:00 and 13:00."""
    visit = world.visit
    visit.delegation.members.add(PersonFactory(name="Mika Member"))
    members = list(visit.delegation.members.all())
    assert len(members) == 2
    guests = [ParticipantSpec(person=m, role="guest") for m in members]
    first = booking.meeting_create(
        visit=visit, title="Board talk", starts_at=next_week(11), ends_at=next_week(12), room=RoomFactory(),
        participants=guests)
    second = booking.meeting_create(
        visit=visit, title="Lab walk", starts_at=next_week(13), ends_at=next_week(14), room=RoomFactory(),
        participants=guests)
    return visit, members, first, second


def test_delegation_members_block_their_time(programme):
    _visit, members, first, _second = programme
    flags = set(first.participations.values_list("person_id", "exclusive", "blocks_time"))
    assert flags == {(m.pk, True, True) for m in members}


def test_rescheduling_onto_another_programme_meeting_is_409_naming_it(programme, coordinator_client):
    _visit, _members, first, second = programme
    response = coordinator_client.post(f"/api/v1/meetings/{second.pk}/reschedule/", {
        "starts_at": next_week(11, 30).isoformat(), "ends_at": next_week(12, 30).isoformat(),
    }, format="json")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "schedule_conflict"
    assert [c["id"] for c in error["conflicts"]] == [first.pk] and "Board talk" in error["message"]
    second.refresh_from_db()
    assert second.starts_at == next_week(13)


def test_a_new_programme_meeting_that_double_books_members_is_refused(programme, coordinator_client):
    visit, members, first, _second = programme
    response = coordinator_client.post("/api/v1/meetings/", {
        "title": "Parallel tour", "starts_at": next_week(11, 15).isoformat(), "ends_at": next_week(11, 45).isoformat(),
        "visit": visit.pk, "participants": [{"person": members[0].pk, "role": "guest"}],
    }, format="json")
    assert response.status_code == 409 and response.json()["error"]["conflicts"][0]["id"] == first.pk
    assert not Meeting.objects.filter(title="Parallel tour").exists()


def test_adding_a_member_to_an_overlapping_meeting_is_refused(programme, coordinator_client):
    visit, members, _first, _second = programme
    response = coordinator_client.post("/api/v1/meetings/", {
        "title": "Coffee", "starts_at": next_week(11, 15).isoformat(), "ends_at": next_week(11, 45).isoformat(),
        "visit": visit.pk, "participants": [],
    }, format="json")
    assert response.status_code == 201
    coffee = response.json()["id"]
    response = coordinator_client.patch(f"/api/v1/meetings/{coffee}/", {
        "participants": [{"person": members[1].pk, "role": "guest"}],
    }, format="json")
    assert response.status_code == 409, response.content
    assert not Participation.objects.filter(meeting_id=coffee).exists()


def test_other_guests_may_still_overlap(programme):
    _visit, _members, _first, _second = programme
    visitor = PersonFactory()
    a = meeting_create(title="Open lecture A", starts_at=next_week(15), ends_at=next_week(16),
                       participants=[ParticipantSpec(visitor, "guest")])
    b = meeting_create(title="Open lecture B", starts_at=next_week(15), ends_at=next_week(16),
                       participants=[ParticipantSpec(visitor, "guest")])
    assert a.pk != b.pk


def test_moving_a_meeting_out_of_the_way_still_works(programme):
    _visit, _members, _first, second = programme
    meeting_reschedule(meeting=second, starts_at=next_week(12), ends_at=next_week(13))  # adjacent is fine
    with pytest.raises(ScheduleConflict):
        meeting_reschedule(meeting=second, starts_at=next_week(11, 59), ends_at=next_week(13))


def test_the_database_refuses_a_double_booked_member(programme, on_postgres):
    _visit, _members, first, second = programme
    row = second.participations.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.filter(pk=row.pk).update(starts_at=first.starts_at, ends_at=first.ends_at + timedelta(0))
