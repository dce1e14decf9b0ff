"""The free-slot and busy endpoints over HTTP: shapes, permissions, bad input."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from rest_framework.test import APIClient

from availability.models import Absence
from events.models import Participation
from tests.factories import MeetingFactory, ParticipationFactory, PersonFactory, RoomFactory, UserFactory

from .conftest import office_hours, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    coordinator = UserFactory(username="coord", is_staff=True)
    host_user = UserFactory(username="host", is_staff=False)
    host = PersonFactory(user=host_user, timezone="Europe/Berlin")
    other = PersonFactory(timezone="Europe/Berlin")
    nobody = UserFactory(username="nobody", is_staff=False)
    return coordinator, host_user, host, other, nobody


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_busy_endpoint_answers_the_contract_shape(people):
    coordinator, _, host, other, _ = people
    room = RoomFactory()
    meeting = MeetingFactory(room=room, starts_at=utc(2026, 12, 1, 9), ends_at=utc(2026, 12, 1, 10))
    ParticipationFactory(meeting=meeting, person=host, role=Participation.Role.HOST)
    Absence.objects.create(person=other, starts_at=utc(2026, 12, 1, 12), ends_at=utc(2026, 12, 1, 13), reason="Visa")
    response = _client(coordinator).get("/api/v1/availability/busy/", {
        "people": f"{host.pk},{other.pk}", "rooms": str(room.pk), "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-02T00:00:00Z", "timezone": "UTC"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["people"] == {
        str(host.pk): [{"starts_at": "2026-12-01T09:00:00+00:00", "ends_at": "2026-12-01T10:00:00+00:00"}],
        str(other.pk): [{"starts_at": "2026-12-01T12:00:00+00:00", "ends_at": "2026-12-01T13:00:00+00:00"}],
    }
    assert body["rooms"] == {str(room.pk): [{"starts_at": "2026-12-01T09:00:00+00:00",
                                             "ends_at": "2026-12-01T10:00:00+00:00"}]}
    assert "Visa" not in response.content.decode()
    excluded = _client(coordinator).get("/api/v1/availability/busy/", {
        "people": str(host.pk), "start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z",
        "exclude_meetings": str(meeting.pk)})
    assert excluded.json()["people"] == {str(host.pk): []}


def test_slots_in_the_answer_zone_with_rooms(people):
    coordinator, _, host, _, _ = people
    office_hours(host, start=time(9), end=time(12))
    room_a, room_b = RoomFactory(), RoomFactory()
    MeetingFactory(room=room_a, starts_at=utc(2026, 12, 1, 8), ends_at=utc(2026, 12, 1, 9))  # 09:00–10:00 Berlin
    response = _client(coordinator).get("/api/v1/availability/", {
        "people": str(host.pk), "rooms": f"{room_a.pk},{room_b.pk}", "start": "2026-12-01T00:00:00+01:00",
        "end": "2026-12-02T00:00:00+01:00", "duration": "60", "granularity": "60", "timezone": "Europe/Berlin"})
    assert response.status_code == 200, response.content
    assert response.json()["slots"] == [
        {"starts_at": "2026-12-01T09:00:00+01:00", "ends_at": "2026-12-01T10:00:00+01:00", "rooms": [room_b.pk]},
        {"starts_at": "2026-12-01T10:00:00+01:00", "ends_at": "2026-12-01T11:00:00+01:00",
         "rooms": [room_a.pk, room_b.pk]},
        {"starts_at": "2026-12-01T11:00:00+01:00", "ends_at": "2026-12-01T12:00:00+01:00",
         "rooms": [room_a.pk, room_b.pk]},
    ]


SEARCH = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z", "duration": "30"}


@pytest.mark.parametrize("path", ["/api/v1/availability/", "/api/v1/availability/busy/"])
def test_permission_matrix(people, path):
    coordinator, host_user, host, other, nobody = people
    room = RoomFactory()
    assert _client().get(path, {**SEARCH, "people": str(host.pk)}).status_code in (401, 403)
    assert _client(nobody).get(path, {**SEARCH, "people": str(host.pk)}).status_code == 403
    assert _client(nobody).get(path, {**SEARCH, "rooms": str(room.pk)}).status_code == 403
    assert _client(host_user).get(path, {**SEARCH, "people": str(host.pk)}).status_code == 200
    assert _client(host_user).get(path, {**SEARCH, "rooms": str(room.pk)}).status_code == 200
    assert _client(host_user).get(path, {**SEARCH, "people": f"{host.pk},{other.pk}"}).status_code == 403
    assert _client(coordinator).get(path, {**SEARCH, "people": f"{host.pk},{other.pk}"}).status_code == 200


@pytest.mark.parametrize("params, field", [
    ({"people": "1;2"}, "people"),
    ({"people": "999999"}, "people"),
    ({"rooms": "999999"}, "rooms"),
    ({"start": "2026-12-01T00:00:00"}, "start"),
    ({"start": "yesterday"}, "start"),
    ({"end": "2026-11-01T00:00:00Z"}, "end"),
    ({"end": "2027-12-01T00:00:00Z"}, "end"),
    ({"duration": "0"}, "duration"),
    ({"duration": "abc"}, "duration"),
    ({"granularity": "1"}, "granularity"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"people": ""}, "people"),
])
def test_bad_input_is_a_400_naming_the_field(people, params, field):
    coordinator, _, host, _, _ = people
    query = {**SEARCH, "people": str(host.pk), **params}
    response = _client(coordinator).get("/api/v1/availability/", query)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_slots_follow_the_local_grid_across_the_spring_gap(people):
    """Berlin skips 02:00–03:00 on 29 March 2026: hourly slots are 00:00, 01:00, 03:00 …, and the
    01:00 slot lasts one real hour, ending at 03:00 CEST."""
    coordinator, _, host, _, _ = people
    response = _client(coordinator).get("/api/v1/availability/", {
        "people": str(host.pk), "start": "2026-03-29T00:00:00+01:00", "end": "2026-03-29T05:00:00+02:00",
        "duration": "60", "granularity": "60", "timezone": "Europe/Berlin"})
    assert [(s["starts_at"], s["ends_at"]) for s in response.json()["slots"]] == [
        ("2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00"),
        ("2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"),
        ("2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"),
        ("2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00"),
    ]


def test_slots_start_on_the_answer_zone_grid_even_with_half_hour_offsets(people):
    coordinator, _, host, _, _ = people
    response = _client(coordinator).get("/api/v1/availability/", {
        "people": str(host.pk), "start": "2026-12-01T00:10:00Z", "end": "2026-12-01T03:00:00Z",
        "duration": "60", "granularity": "60", "timezone": "Asia/Kolkata"})
    # Kolkata is UTC+05:30: local full hours are at hh:30 UTC
    # (06:00 local = 00:30 UTC); 08:00 local would end after the window
    assert [s["starts_at"] for s in response.json()["slots"]] == ["2026-12-01T06:00:00+05:30",
                                                                  "2026-12-01T07:00:00+05:30"]


def test_query_count_does_not_grow_with_the_window_or_the_rows(people):
    """The work is one interval query plus a fixed few (session, existence, hours), whatever the window."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    coordinator, _, host, other, _ = people
    office_hours(host)
    room = RoomFactory()
    client = _client(coordinator)
    client.get("/api/v1/availability/", {"people": str(host.pk), "start": "2026-12-01T00:00:00Z",
                                         "end": "2026-12-02T00:00:00Z", "duration": "60"})  # warm caches
    counts = []
    for hour, days, meetings in ((9, 7, 1), (11, 28, 30)):
        for n in range(meetings):
            m = MeetingFactory(room=room, starts_at=utc(2026, 12, 1, hour) + timedelta(days=n),
                               ends_at=utc(2026, 12, 1, hour + 1) + timedelta(days=n))
            ParticipationFactory(meeting=m, person=host, role=Participation.Role.HOST)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/availability/", {
                "people": f"{host.pk},{other.pk}", "rooms": str(room.pk), "start": "2026-12-01T00:00:00Z",
                "end": (utc(2026, 12, 1) + timedelta(days=days)).isoformat(), "duration": "60"})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
