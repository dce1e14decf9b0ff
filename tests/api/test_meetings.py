"""Meetings through the API: create, conflicts as 409 naming the meeting, updates, workflow actions."""

from __future__ import annotations

import pytest

from events.models import Meeting, MeetingRevision, Participation
from tests.api.conftest import next_week
from visits.models import ProgrammeSlot

pytestmark = pytest.mark.django_db


def _body(w, **overrides):
    body = {
        "title": "Cell therapy workshop",
        "starts_at": next_week(10, days=8).isoformat(),
        "ends_at": next_week(12, days=8).isoformat(),
        "timezone": "Europe/Berlin",
        "room": w.room.pk,
        "kind": "meeting",
        "description": "Joint session",
        "participants": [{"person": w.host_person.pk, "role": "host"}, {"person": w.visit.contact_id, "role": "guest"}],
        "agenda_items": [{"title": "Intro", "topic": "stem-cells", "presenter": w.host_person.pk, "minutes": 15}],
    }
    body.update(overrides)
    return body


def test_create_meeting_in_visit_programme(world, coordinator_client):
    r = coordinator_client.post("/api/v1/meetings/", _body(world, visit=world.visit.pk), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert {"id", "uid", "sequence", "status", "ics_url"} <= set(data)
    assert data["visit"] == world.visit.pk and data["status"] == "scheduled" and data["sequence"] == 0
    assert data["ics_url"].endswith(f"/calendars/meetings/{data['id']}.ics")
    assert [(p["person"], p["role"]) for p in data["participants"]] == [
        (world.visit.contact_id, "guest"), (world.host_person.pk, "host")] or len(data["participants"]) == 2
    assert data["agenda_items"][0] == {"position": 0, "title": "Intro", "topic": "stem-cells",
                                       "presenter": world.host_person.pk, "minutes": 15, "notes": ""}
    assert ProgrammeSlot.objects.filter(visit=world.visit, meeting_id=data["id"]).exists()


def test_room_double_booking_is_409_naming_the_meeting(world, coordinator_client):
    before = Meeting.objects.count()
    r = coordinator_client.post(
        "/api/v1/meetings/",
        _body(world, starts_at=next_week(10, 30).isoformat(), ends_at=next_week(11, 30).isoformat(), participants=[]),
        format="json",
    )
    assert r.status_code == 409, r.content
    error = r.json()["error"]
    assert error["code"] == "schedule_conflict"
    assert [c["id"] for c in error["conflicts"]] == [world.meeting.pk]
    assert error["conflicts"][0]["title"] == "Lab tour" and "starts_at" in error["conflicts"][0]
    assert Meeting.objects.count() == before


def test_host_double_booking_is_409(world, coordinator_client):
    r = coordinator_client.post(
        "/api/v1/meetings/",
        _body(world, room=world.spare_room.pk, starts_at=next_week(10, 45).isoformat(),
              ends_at=next_week(11, 15).isoformat(), participants=[{"person": world.host_person.pk, "role": "presenter"}]),
        format="json",
    )
    assert r.status_code == 409, r.content
    assert world.host_person.name in r.json()["error"]["conflicts"][0]["reason"]


def test_guest_does_not_block_time(world, coordinator_client):
    r = coordinator_client.post(
        "/api/v1/meetings/",
        _body(world, room=world.spare_room.pk, starts_at=next_week(10).isoformat(), ends_at=next_week(11).isoformat(),
              participants=[{"person": world.host_person.pk, "role": "guest"}]),
        format="json",
    )
    assert r.status_code == 201, r.content


def test_patch_moves_time_and_replaces_participants_and_agenda(world, coordinator_client):
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    r = coordinator_client.patch(url, {
        "starts_at": next_week(13).isoformat(), "ends_at": next_week(14).isoformat(),
        "participants": [{"person": world.other_person.pk, "role": "chair"}],
        "agenda_items": [{"title": "Lab walk", "minutes": 30}],
    }, format="json")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["sequence"] == 2  # time change and agenda change each raise SEQUENCE
    assert [p["person"] for p in data["participants"]] == [world.other_person.pk]
    assert [a["title"] for a in data["agenda_items"]] == ["Lab walk"]


def test_refused_update_changes_nothing(world, coordinator_client):
    """A PATCH whose participant part conflicts leaves title, time and people as they were."""
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    before = coordinator_client.get(url).json()
    r = coordinator_client.patch(url, {
        "title": "Should not stick",
        "starts_at": next_week(14).isoformat(), "ends_at": next_week(15).isoformat(),
        "participants": [{"person": world.other_person.pk, "role": "host"}],  # other_person hosts at 14:00
    }, format="json")
    assert r.status_code == 409, r.content
    assert r.json()["error"]["conflicts"][0]["id"] == world.other_meeting.pk
    assert coordinator_client.get(url).json() == before
    assert not MeetingRevision.objects.filter(meeting=world.meeting).exists()


def test_reschedule_and_cancel(world, coordinator_client):
    url = f"/api/v1/meetings/{world.meeting.pk}/"
    r = coordinator_client.post(url + "reschedule/", {"starts_at": next_week(16).isoformat(),
                                                      "ends_at": next_week(17).isoformat()}, format="json")
    assert r.status_code == 200 and r.json()["sequence"] == 1
    r = coordinator_client.post(url + "cancel/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["sequence"] == 2
    r = coordinator_client.post(url + "cancel/", {}, format="json")
    assert r.status_code == 200 and r.json()["sequence"] == 2  # idempotent
    r = coordinator_client.patch(url, {"title": "x"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "meeting_cancelled"


def test_reschedule_into_conflict_is_409(world, coordinator_client):
    other = coordinator_client.post("/api/v1/meetings/", _body(world, starts_at=next_week(15).isoformat(),
                                    ends_at=next_week(16).isoformat(), participants=[]), format="json").json()
    r = coordinator_client.post(f"/api/v1/meetings/{world.meeting.pk}/reschedule/",
                                {"starts_at": next_week(15, 30).isoformat(), "ends_at": next_week(16, 30).isoformat()},
                                format="json")
    assert r.status_code == 409
    assert r.json()["error"]["conflicts"][0]["id"] == other["id"]


def test_host_rsvp(world):
    client = world.client("host")
    r = client.post(f"/api/v1/meetings/{world.meeting.pk}/rsvp/", {"rsvp": "tentative"}, format="json")
    assert r.status_code == 200, r.content
    assert Participation.objects.get(meeting=world.meeting, person=world.host_person).rsvp == "tentative"
    r = client.post(f"/api/v1/meetings/{world.meeting.pk}/rsvp/", {"rsvp": "needs-action"}, format="json")
    assert r.status_code == 400 and "rsvp" in r.json()["error"]["fields"]


def test_meeting_filters(world, coordinator_client):
    def ids(query):
        r = coordinator_client.get("/api/v1/meetings/" + query)
        assert r.status_code == 200, r.content
        return {m["id"] for m in r.json()["results"]}

    assert ids(f"?room={world.room.pk}") == {world.meeting.pk}
    assert ids(f"?person={world.other_person.pk}") == {world.other_meeting.pk}
    assert ids(f"?visit={world.visit.pk}") == {world.meeting.pk}
    window = f"from={next_week(10, 30).isoformat()}&to={next_week(14, 30).isoformat()}".replace("+", "%2B")
    assert ids("?" + window) == {world.meeting.pk, world.other_meeting.pk}
    after = next_week(13).isoformat().replace("+", "%2B")
    assert ids(f"?starts_after={after}") == {world.other_meeting.pk, world.public_meeting.pk}
    assert ids("?status=cancelled") == set()
    r = coordinator_client.get("/api/v1/meetings/?ordering=-starts_at")
    assert r.json()["results"][0]["id"] == world.public_meeting.pk
    # An unknown id narrows to nothing (like one the caller may not see); a malformed one is a 400.
    assert ids("?room=999999") == set()
    assert coordinator_client.get("/api/v1/meetings/?room=abc").status_code == 400


def test_session_auth_needs_csrf(world):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.coordinator)
    body = {"title": "Via session", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat()}
    assert client.post("/api/v1/meetings/", body, format="json").status_code == 403
    client.get("/api/v1/me/")
    token = client.cookies.get("csrftoken")
    if token is None:  # the API sets no cookie itself; the login page does
        from django.middleware.csrf import _get_new_csrf_string

        client.cookies["csrftoken"] = token_value = _get_new_csrf_string()
    else:
        token_value = token.value
    r = client.post("/api/v1/meetings/", body, format="json", HTTP_X_CSRFTOKEN=token_value)
    assert r.status_code == 201, r.content
