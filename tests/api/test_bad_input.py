"""No input makes the API answer 5xx, and a refused request stores nothing."""

from __future__ import annotations

import json

import pytest

from events.models import Meeting
from tests.api.conftest import next_week
from visits.models import Visit

pytestmark = pytest.mark.django_db

GOOD = {"title": "Fine", "starts_at": "2031-05-05T10:00:00+02:00", "ends_at": "2031-05-05T11:00:00+02:00"}

MEETING_BODIES = [
    ({"title": "Naive", "starts_at": "2031-05-05T10:00:00", "ends_at": "2031-05-05T11:00:00+02:00"}, "starts_at"),
    (dict(GOOD, timezone="Mars/Olympus"), "timezone"),
    (dict(GOOD, timezone="../../etc/passwd"), "timezone"),
    (dict(GOOD, timezone="Europe/Berlin\x00"), "timezone"),
    (dict(GOOD, title="Nul\x00byte"), "title"),
    (dict(GOOD, description="x\x00"), "description"),
    (dict(GOOD, room=10**30), "room"),
    (dict(GOOD, room=-1), "room"),
    (dict(GOOD, room=1.5), "room"),
    (dict(GOOD, room="1; DROP TABLE"), "room"),
    (dict(GOOD, room=True), "room"),
    (dict(GOOD, visit=999999), "visit"),
    (dict(GOOD, event=2**63), "event"),
    (dict(GOOD, starts_at="0001-01-01T00:00:00+14:00"), "starts_at"),
    (dict(GOOD, ends_at="9999-12-31T23:59:59-14:00"), "ends_at"),
    (dict(GOOD, starts_at=12345), "starts_at"),
    (dict(GOOD, starts_at="2031-05-05T12:00:00+02:00"), "ends_at"),
    (dict(GOOD, kind="party"), "kind"),
    (dict(GOOD, participants=[{"person": 10**20, "role": "host"}]), "participants"),
    (dict(GOOD, participants=[{"person": "\x00", "role": "host"}]), "participants"),
    (dict(GOOD, participants="everyone"), "participants"),
    (dict(GOOD, participants=[{"person": 1, "role": "king"}]), "participants"),
    (dict(GOOD, agenda_items=[{"title": "t", "topic": "\x00"}]), "agenda_items"),
    (dict(GOOD, agenda_items=[{"title": "t", "minutes": 10**40}]), "agenda_items"),
    (dict(GOOD, agenda_items=[{"title": "t", "topic": ["list"]}]), "agenda_items"),
    (dict(GOOD, online_url="javascript:alert(1)"), "online_url"),
    ({"title": ["not", "a", "string"]}, "title"),
]


@pytest.mark.parametrize(("body", "field"), MEETING_BODIES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(MEETING_BODIES)])
def test_bad_meeting_bodies_are_400_with_the_field(world, coordinator_client, body, field):
    before = Meeting.objects.count()
    r = coordinator_client.post("/api/v1/meetings/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"], r.json()
    assert Meeting.objects.count() == before


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"null", "application/json", 400),
        (b'"just a string"', "application/json", 400),
        (json.dumps(GOOD).encode(), "text/plain", 415),
        (b"title=x", "application/x-www-form-urlencoded", 415),
        (b"{" * 5000 + b"}" * 5000, "application/json", 400),
        (b'{"title": "' + b"A" * 100_000 + b'"}', "application/json", 400),
        (b'{"title": 1e999999}', "application/json", 400),
    ],
)
def test_malformed_payloads(world, coordinator_client, content, content_type, expected):
    for url in ("/api/v1/meetings/", "/api/v1/visit-requests/", f"/api/v1/meetings/{world.meeting.pk}/reschedule/"):
        r = coordinator_client.generic("POST", url, content, content_type=content_type)
        assert r.status_code == expected, (url, r.content[:300])
        assert "error" in r.json()
    assert Visit.objects.count() == 2


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/meetings/99999999999999999999999/",
        "/api/v1/meetings/-1/",
        "/api/v1/meetings/abc/",
        "/api/v1/meetings/%00/",
        "/api/v1/visit-requests/%00/",
        "/api/v1/visit-requests/" + "a" * 500 + "/",
        "/api/v1/no-such-thing/",
        "/api/v1/meetings/?room=%00",
        "/api/v1/meetings/?room=99999999999999999999999",
        "/api/v1/meetings/?from=0000-01-01T00:00:00Z",
        "/api/v1/meetings/?from=9999-12-31T23:59:59-14:00",
        "/api/v1/meetings/?starts_after=%00",
        "/api/v1/meetings/?ordering=%00",
        "/api/v1/meetings/?page=99999999999999999999",
        "/api/v1/meetings/?page_size=-5",
        "/api/v1/visits/?topic=%00",
        "/api/v1/visits/?organisation=1e9",
        "/api/v1/visits/?from=2026-02-30",
        "/api/v1/people/?organisation=%00",
    ],
)
def test_odd_paths_and_queries_never_500(world, coordinator_client, path):
    r = coordinator_client.get(path)
    assert r.status_code < 500, r.content[:300]
    assert r.status_code in (200, 400, 404)
    assert r["Content-Type"].startswith("application/json")


def test_bad_token_header_is_401(world):
    from rest_framework.test import APIClient

    for header in ("Token \x00", "Token " + "x" * 500, "Token", "Token a b"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/meetings/").status_code == 401


def test_delete_in_use_is_409_and_keeps_the_row(world, coordinator_client):
    r = coordinator_client.delete(f"/api/v1/rooms/{world.room.pk}/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    assert coordinator_client.get(f"/api/v1/rooms/{world.room.pk}/").status_code == 200


def test_duplicate_person_email_is_400(world, coordinator_client):
    r = coordinator_client.post("/api/v1/people/", {"name": "Dup", "email": world.host_person.email.upper()},
                                format="json")
    assert r.status_code == 400 and "email" in r.json()["error"]["fields"]
    _ = next_week
