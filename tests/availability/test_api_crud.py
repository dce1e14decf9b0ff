"""Working hours, absences, room closures and external calendars over the API: shapes, scope, privacy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone as djtz
from rest_framework.test import APIClient

from availability.models import Absence, ExternalCalendar, WeeklyHours
from tests.factories import PersonFactory, RoomFactory, UserFactory

from .test_import import Server, ics

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    coordinator = UserFactory(username="coord", is_staff=True)
    host_user = UserFactory(username="host", is_staff=False)
    host = PersonFactory(user=host_user, timezone="America/New_York")
    other = PersonFactory(timezone="Europe/Berlin")
    return coordinator, host_user, host, other


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_working_hours_round_trip_in_the_person_zone(users):
    coordinator, host_user, host, _ = users
    body = {
        "weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "13:00", "end": "17:30"},
                   {"weekday": 4, "start": "08:00", "end": "14:00"}],
        "exceptions": [{"date": "2026-12-24", "start": None, "end": None},
                       {"date": "2026-12-28", "start": "10:00", "end": "12:00"}],
    }
    response = _client(host_user).put(f"/api/v1/people/{host.pk}/working-hours/", body, format="json")
    assert response.status_code == 200, response.content
    read = _client(coordinator).get(f"/api/v1/people/{host.pk}/working-hours/").json()
    assert read == {"timezone": "America/New_York", **body}
    # PUT replaces: an empty week removes every limit
    assert _client(host_user).put(f"/api/v1/people/{host.pk}/working-hours/", {"weekly": []},
                                  format="json").status_code == 200
    assert not WeeklyHours.objects.filter(person=host).exists()


@pytest.mark.parametrize("body, field", [
    ({"weekly": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "weekly"),
    ({"weekly": [{"weekday": 1, "start": "17:00", "end": "09:00"}]}, "weekly[0].end"),
    ({"weekly": [{"weekday": 1, "start": "9am", "end": "17:00"}]}, "weekly"),
    ({"weekly": [], "exceptions": [{"date": "2026-12-24", "start": "09:00"}]}, "exceptions[0]"),
    ({"weekly": [], "exceptions": [{"date": "2026-12-24"}, {"date": "2026-12-24", "start": "09:00", "end": "10:00"}]},
     "exceptions"),
    ({}, "weekly"),
    # one exception per date: a day off once, working intervals that do not repeat or overlap
    ({"weekly": [], "exceptions": [{"date": "2026-12-24"}, {"date": "2026-12-24"}]}, "exceptions[1]"),
    ({"weekly": [], "exceptions": [{"date": "2026-12-28", "start": "10:00", "end": "12:00"},
                                   {"date": "2026-12-28", "start": "10:00", "end": "12:00"}]}, "exceptions[1]"),
    ({"weekly": [], "exceptions": [{"date": "2026-12-28", "start": "10:00", "end": "12:00"},
                                   {"date": "2026-12-28", "start": "11:00", "end": "13:00"}]}, "exceptions[1]"),
])
def test_bad_working_hours_are_a_400_and_change_nothing(users, body, field):
    coordinator, _, host, _ = users
    WeeklyHours.objects.create(person=host, weekday=2, start="09:00", end="10:00")
    response = _client(coordinator).put(f"/api/v1/people/{host.pk}/working-hours/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert WeeklyHours.objects.filter(person=host).count() == 1


def test_hosts_manage_only_their_own_absences_and_reasons_stay_private(users):
    coordinator, host_user, host, other = users
    mine = _client(host_user).post("/api/v1/absences/", {"starts_at": "2026-12-01T00:00:00Z",
                                                         "ends_at": "2026-12-03T00:00:00Z", "reason": "Holiday"},
                                   format="json")
    assert mine.status_code == 201 and mine.json()["person"] == host.pk and mine.json()["reason"] == "Holiday"
    theirs = Absence.objects.create(person=other, starts_at="2026-12-01T00:00:00Z", ends_at="2026-12-02T00:00:00Z",
                                    reason="Medical")
    listed = _client(host_user).get("/api/v1/absences/").json()
    assert [a["id"] for a in listed["results"]] == [mine.json()["id"]]
    assert _client(host_user).get(f"/api/v1/absences/{theirs.pk}/").status_code == 404
    assert _client(host_user).delete(f"/api/v1/absences/{theirs.pk}/").status_code == 404
    assert _client(host_user).patch(f"/api/v1/absences/{mine.json()['id']}/", {"person": other.pk},
                                    format="json").status_code == 403
    assert _client(coordinator).get(f"/api/v1/absences/{theirs.pk}/").json()["reason"] == "Medical"
    bad = _client(coordinator).post("/api/v1/absences/", {"person": other.pk, "starts_at": "2026-12-02T00:00:00Z",
                                                          "ends_at": "2026-12-01T00:00:00Z"}, format="json")
    assert bad.status_code == 400 and "ends_at" in bad.json()["error"]["fields"]


def test_room_closures_hosts_read_coordinators_write(users):
    coordinator, host_user, _, _ = users
    room = RoomFactory()
    body = {"room": room.pk, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-05T00:00:00Z",
            "reason": "Renovation"}
    assert _client(host_user).post("/api/v1/room-closures/", body, format="json").status_code == 403
    created = _client(coordinator).post("/api/v1/room-closures/", body, format="json")
    assert created.status_code == 201
    assert _client(host_user).get("/api/v1/room-closures/").json()["count"] == 1
    moved = _client(coordinator).patch(f"/api/v1/room-closures/{created.json()['id']}/",
                                       {"ends_at": "2026-11-01T00:00:00Z"}, format="json")
    assert moved.status_code == 400


def test_external_calendars_url_is_secret_and_sync_now_queues(users, settings, django_capture_on_commit_callbacks):
    """Sync now answers 202 at once and the worker's task does the fetch (changed in issue 17: the
    request used to fetch and answer 200 with the result)."""
    from availability.tasks import sync_calendar

    coordinator, host_user, host, other = users
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    server = Server()
    try:
        soon = (djtz.now() + timedelta(days=10)).strftime("%Y%m%d")
        server.routes["/h.ics"] = (200, {}, ics(f"UID:a@t\nDTSTART:{soon}T100000Z\nDTEND:{soon}T110000Z",
                                                "UID:b@t\nDTSTART:20300101T100000Z\nDTEND:20300101T110000Z"))
        theirs = ExternalCalendar.objects.create(person=other, url="https://secret.example.org/other.ics")
        created = _client(host_user).post("/api/v1/external-calendars/", {"url": server.url("/h.ics")}, format="json")
        assert created.status_code == 201, created.content
        assert created.json()["person"] == host.pk and created.json()["last_synced_at"] is None
        assert created.json()["sync"] == "queued"  # its first sync, for the worker
        listed = _client(host_user).get("/api/v1/external-calendars/").json()["results"]
        assert [c["id"] for c in listed] == [created.json()["id"]]
        assert "secret.example.org" not in str(listed)
        assert _client(host_user).post(f"/api/v1/external-calendars/{theirs.pk}/sync/").status_code == 404
        sync_calendar(created.json()["id"])  # what the worker does with the queued task
        assert server.requests, "the worker's task fetched the calendar"
        fetched = len(server.requests)
        with django_capture_on_commit_callbacks() as queued:
            synced = _client(host_user).post(f"/api/v1/external-calendars/{created.json()['id']}/sync/")
        assert synced.status_code == 202
        assert synced.json()["sync"] == "queued" and len(queued) == 1
        assert len(server.requests) == fetched  # nothing fetched inside the request
        # the result of the first sync is already there; the horizon is 180 days, so not the 2030 event
        assert synced.json()["last_error"] == "" and synced.json()["last_synced_at"] is not None
        assert synced.json()["busy_count"] == 1
        bad = _client(host_user).post("/api/v1/external-calendars/", {"url": "file:///etc/passwd"}, format="json")
        assert bad.status_code == 400 and "url" in bad.json()["error"]["fields"]
        assert _client(coordinator).get("/api/v1/external-calendars/").json()["count"] == 2
    finally:
        server.close()


@pytest.mark.parametrize("path", ["/api/v1/absences/", "/api/v1/room-closures/"])
def test_a_period_that_ends_before_it_starts_is_a_field_error_and_changes_nothing(users, path):
    coordinator, _, host, _ = users
    owner = {"person": host.pk} if "absences" in path else {"room": RoomFactory().pk}
    body = {**owner, "starts_at": "2026-12-05T10:00:00Z", "ends_at": "2026-12-05T10:00:00Z"}
    response = _client(coordinator).post(path, body, format="json")
    assert response.status_code == 400
    assert "ends_at" in str(response.json())
    assert _client(coordinator).get(path).json()["count"] == 0


def test_closure_reasons_are_for_coordinators_only(users):
    """Hosts plan around a closure; why the room is closed ("Asbestos inspection (internal)") is not theirs."""
    coordinator, host_user, _, _ = users
    body = {"room": RoomFactory().pk, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-05T00:00:00Z",
            "reason": "Asbestos inspection (internal)"}
    created = _client(coordinator).post("/api/v1/room-closures/", body, format="json").json()
    assert created["reason"] == body["reason"]
    listed = _client(host_user).get("/api/v1/room-closures/").json()["results"]
    assert [c["id"] for c in listed] == [created["id"]] and "reason" not in listed[0]
    assert "reason" not in _client(host_user).get(f"/api/v1/room-closures/{created['id']}/").json()
    assert _client(coordinator).get("/api/v1/room-closures/").json()["results"][0]["reason"] == body["reason"]


def test_one_day_off_per_date_is_also_a_database_rule(users):
    from django.db import IntegrityError, transaction

    from availability.models import HoursException

    _, _, host, _ = users
    HoursException.objects.create(person=host, date="2026-12-24")
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursException.objects.create(person=host, date="2026-12-24")
    HoursException.objects.create(person=host, date="2026-12-28", start="10:00", end="12:00")
    with pytest.raises(IntegrityError), transaction.atomic():
        HoursException.objects.create(person=host, date="2026-12-28", start="10:00", end="11:00")
