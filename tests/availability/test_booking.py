"""Booking against availability through the meetings API: 409 naming the reason, or a recorded override."""

from __future__ import annotations

from datetime import time

import pytest
from rest_framework.test import APIClient

from availability.models import Absence, ExternalBusy, ExternalCalendar, RoomClosure
from events.models import Meeting
from tests.factories import PersonFactory, RoomFactory, UserFactory

from .conftest import office_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    coordinator = UserFactory(username="coord", is_staff=True)
    host = PersonFactory(timezone="Europe/Berlin", name="Dr. Host")
    guest = PersonFactory(timezone="Europe/Berlin", name="Guest")
    office_hours(host, start=time(9), end=time(17))
    client = APIClient()
    client.force_authenticate(coordinator)
    return client, host, guest


def _meeting(host, start="2026-12-01T10:00:00+01:00", end="2026-12-01T11:00:00+01:00", **extra):
    return {"title": "Lab tour", "starts_at": start, "ends_at": end, "timezone": "Europe/Berlin",
            "participants": [{"person": host.pk, "role": "host"}], **extra}


def test_inside_working_hours_books_normally(setup):
    client, host, _ = setup
    response = client.post("/api/v1/meetings/", _meeting(host), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["booked_against_availability"] is False


def test_outside_working_hours_is_a_409_naming_the_reason(setup):
    client, host, _ = setup
    response = client.post("/api/v1/meetings/", _meeting(host, "2026-12-01T18:00:00+01:00",
                                                        "2026-12-01T19:00:00+01:00"), format="json")
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "availability_conflict"
    assert error["unavailable"] == [{"reason": "outside_working_hours", "person": host.pk,
                                     "message": "Dr. Host is outside their working hours."}]
    assert not Meeting.objects.exists()


def test_the_refusal_says_what_to_do_in_plain_words_and_keeps_a_hint_for_programs(setup):
    client, host, _ = setup
    body = _meeting(host, "2026-12-01T18:00:00+01:00", "2026-12-01T19:00:00+01:00")
    error = client.post("/api/v1/meetings/", body, format="json").json()["error"]
    assert error["message"] == "Dr. Host is outside their working hours. To book it all the same, tick “Book anyway”."
    assert "override_availability" not in error["message"]
    assert error["book_anyway"] == {"field": "override_availability", "value": True, "who": "coordinators"}
    german = client.post("/api/v1/meetings/", body, format="json", HTTP_ACCEPT_LANGUAGE="de").json()["error"]
    assert german["message"] == ("Dr. Host ist außerhalb der Arbeitszeit. Um trotzdem zu buchen, "
                                 "kreuzen Sie „Trotzdem buchen“ an.")
    assert client.post("/api/v1/meetings/", {**body, "override_availability": True}, format="json").status_code == 201


def test_a_rooms_hours_are_said_once_without_seconds(setup):
    client, host, _ = setup
    room = RoomFactory(name="Board room", bookable_from=time(8), bookable_until=time(18))
    body = _meeting(host, "2026-12-01T16:00:00+01:00", "2026-12-01T19:00:00+01:00", room=room.pk,
                    override_availability=True)
    error = client.post("/api/v1/meetings/", body, format="json").json()["error"]
    assert error["message"] == "Board room can be booked from 08:00 to 18:00."
    german = client.post("/api/v1/meetings/", body, format="json", HTTP_ACCEPT_LANGUAGE="de").json()["error"]
    assert german["message"] == "Board room kann von 08:00 bis 18:00 gebucht werden."


def test_guests_do_not_block(setup):
    client, host, guest = setup
    Absence.objects.create(person=guest, starts_at="2026-12-01T00:00:00Z", ends_at="2026-12-02T00:00:00Z")
    body = _meeting(host)
    body["participants"].append({"person": guest.pk, "role": "guest"})
    assert client.post("/api/v1/meetings/", body, format="json").status_code == 201


def test_absent_and_busy_elsewhere_and_room_closed(setup):
    client, host, _ = setup
    Absence.objects.create(person=host, starts_at="2026-12-01T09:30:00Z", ends_at="2026-12-01T09:45:00Z",
                           reason="Doctor")
    calendar = ExternalCalendar.objects.create(person=host, url="https://calendar.example.org/x.ics")
    ExternalBusy.objects.create(calendar=calendar, person=host, starts_at="2026-12-01T09:00:00Z",
                                ends_at="2026-12-01T09:10:00Z")
    room = RoomFactory()
    RoomClosure.objects.create(room=room, starts_at="2026-12-01T00:00:00Z", ends_at="2026-12-03T00:00:00Z",
                               reason="Renovation")
    response = client.post("/api/v1/meetings/", _meeting(host, room=room.pk), format="json")
    assert response.status_code == 409
    reasons = {(p["reason"], p.get("detail")) for p in response.json()["error"]["unavailable"]}
    assert reasons == {("absent", "Doctor"), ("busy_elsewhere", None), ("room_closed", "Renovation")}


def test_a_coordinator_overrides_and_the_meeting_records_it(setup):
    client, host, _ = setup
    response = client.post("/api/v1/meetings/", _meeting(host, "2026-12-01T18:00:00+01:00",
                                                        "2026-12-01T19:00:00+01:00", override_availability=True),
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["booked_against_availability"] is True
    meeting_id = response.json()["id"]
    # moving it back inside working hours clears the mark; moving it out again without override is refused
    moved = client.post(f"/api/v1/meetings/{meeting_id}/reschedule/",
                        {"starts_at": "2026-12-01T10:00:00+01:00", "ends_at": "2026-12-01T11:00:00+01:00"}, format="json")
    assert moved.status_code == 200 and moved.json()["booked_against_availability"] is False
    refused = client.patch(f"/api/v1/meetings/{meeting_id}/", {"starts_at": "2026-12-01T07:00:00+01:00"},
                           format="json")
    assert refused.status_code == 409
    assert Meeting.objects.get(pk=meeting_id).starts_at.hour == 9  # unchanged: 10:00 Berlin
    # a title change of a meeting booked against availability is not re-checked
    client.patch(f"/api/v1/meetings/{meeting_id}/", {"starts_at": "2026-12-01T07:00:00+01:00",
                                                     "override_availability": True}, format="json")
    renamed = client.patch(f"/api/v1/meetings/{meeting_id}/", {"title": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["booked_against_availability"] is True


def test_adding_an_absent_host_to_an_existing_meeting_is_refused(setup):
    client, host, _ = setup
    other = PersonFactory(timezone="Europe/Berlin")
    Absence.objects.create(person=other, starts_at="2026-12-01T00:00:00Z", ends_at="2026-12-02T00:00:00Z",
                           reason="Holiday")
    meeting_id = client.post("/api/v1/meetings/", _meeting(host), format="json").json()["id"]
    response = client.patch(f"/api/v1/meetings/{meeting_id}/", {"participants": [
        {"person": host.pk, "role": "host"}, {"person": other.pk, "role": "presenter"}]}, format="json")
    assert response.status_code == 409
    assert [p["reason"] for p in response.json()["error"]["unavailable"]] == ["absent"]
