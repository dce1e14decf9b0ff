"""Bad input a newcomer found, each answered with a 4xx a client can act on (issue 10, item 6)."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from directory.models import Person
from events.models import Meeting

pytestmark = pytest.mark.django_db

GOOD = {"title": "Fine", "starts_at": "2031-05-05T10:00:00+02:00", "ends_at": "2031-05-05T11:00:00+02:00"}


@pytest.mark.parametrize(
    "path",
    [
        "/visits/status/%00/",
        "/visits/status/%00/cancel/",
        "/calendars/people/%00.ics",
        "/calendars/visits/%00.ics",
        "/api/v1/visit-requests/%00/",
        "/n/rsvp/%00/",
    ],
)
def test_a_nul_byte_in_a_token_path_is_404(path):
    response = Client().get(path)
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "not_found"


def test_deeply_nested_json_is_400_in_the_api_shape(world, coordinator_client):
    deep = b"[" * 50_000 + b"]" * 50_000
    for url in ("/api/v1/visit-requests/", "/api/v1/meetings/"):
        response = coordinator_client.generic("POST", url, deep, content_type="application/json")
        assert response.status_code == 400, response.content[:200]
        assert response.json()["error"]["code"] == "parse_error"


def test_an_oversized_body_is_413_in_the_api_shape(world, coordinator_client, settings):
    body = b'{"title": "' + b"A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    response = coordinator_client.generic("POST", "/api/v1/meetings/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_time_zones_that_are_not_places_are_refused(world, coordinator_client, zone):
    before = Meeting.objects.count()
    response = coordinator_client.post("/api/v1/meetings/", dict(GOOD, timezone=zone), format="json")
    assert response.status_code == 400 and "timezone" in response.json()["error"]["fields"]
    response = coordinator_client.patch(f"/api/v1/people/{world.host_person.pk}/", {"timezone": zone}, format="json")
    assert response.status_code == 400 and "timezone" in response.json()["error"]["fields"]
    assert Meeting.objects.count() == before


def test_line_breaks_in_single_line_fields_are_normalised(world, coordinator_client):
    response = coordinator_client.post("/api/v1/meetings/", dict(GOOD, title="Lab\r\nBcc: x@evil.example"),
                                       format="json")
    assert response.status_code == 201, response.content
    assert Meeting.objects.get(pk=response.json()["id"]).title == "Lab Bcc: x@evil.example"
    response = coordinator_client.post("/api/v1/people/", {"name": "Anna\nSchmidt", "email": "anna.s@example.org"},
                                       format="json")
    assert response.status_code == 201 and Person.objects.get(email="anna.s@example.org").name == "Anna Schmidt"
    response = coordinator_client.post("/api/v1/people/", {"name": "\r\n", "email": "blank@example.org"},
                                       format="json")
    assert response.status_code == 400 and "name" in response.json()["error"]["fields"]


def test_public_request_names_are_one_line(world):
    from tests.api.conftest import visit_request_body

    body = visit_request_body(77)
    body["delegation"]["name"] = "LSN\r\ndelegation"
    body["contact"]["name"] = "Kirsten\nHansen"
    response = APIClient().post("/api/v1/visit-requests/", body, format="json")
    assert response.status_code == 201, response.content
    status = APIClient().get(response.json()["status_api_url"]).json()
    assert "\n" not in str(status) and "LSN delegation" in str(status)


def test_filters_do_not_reveal_whether_an_invisible_object_exists(world):
    """``other_person`` is invisible to ``host``; an id that exists nowhere must answer the same way."""
    host_client = world.client("host")
    invisible = world.other_person.pk
    missing = 10**9
    for param, hidden in (("person", invisible), ("room", world.spare_room.pk), ("visit", world.other_visit.pk)):
        seen = host_client.get(f"/api/v1/meetings/?{param}={hidden}")
        nowhere = host_client.get(f"/api/v1/meetings/?{param}={missing}")
        assert (seen.status_code, seen.json()["count"]) == (nowhere.status_code, nowhere.json()["count"]) == (200, 0)
    seen = host_client.get(f"/api/v1/visits/?organisation={world.other_visit.delegation.organisation_id}")
    nowhere = host_client.get(f"/api/v1/visits/?organisation={missing}")
    assert (seen.status_code, seen.json()["count"]) == (nowhere.status_code, nowhere.json()["count"]) == (200, 0)


def _chunked(client, body: bytes, **extra):
    """A request as a chunk-decoding server (gunicorn) hands it on: no Content-Length, the decoded
    body as a stream that reads until its end (tests/deploy/test_gunicorn.py sends real chunks)."""
    return client.generic("POST", "/api/v1/meetings/", b"", content_type="application/json", CONTENT_LENGTH="",
                          HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": io.BytesIO(body)}, **extra)


def test_an_oversized_chunked_body_is_413_in_the_api_shape(world, coordinator_client, settings):
    body = b'{"title": "' + b"A" * (3 * 1024 * 1024) + b'"}'
    response = _chunked(coordinator_client, body, **{"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Meeting.objects.filter(title__startswith="AAA").exists()


def test_a_small_chunked_body_reaches_the_view(world, coordinator_client):
    body = json.dumps({"title": "Chunked", "starts_at": "2031-05-05T10:00:00+02:00",
                       "ends_at": "2031-05-05T11:00:00+02:00"}).encode()
    response = _chunked(coordinator_client, body, **{"wsgi.input_terminated": True})
    assert response.status_code == 201, response.content[:300]
    assert Meeting.objects.filter(title="Chunked").exists()


def test_a_chunked_body_the_server_did_not_decode_is_411(world, coordinator_client):
    response = _chunked(coordinator_client, b'{"title": "x"}')
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
