"""The deployed web server (gunicorn + config/gunicorn.conf.py, production settings, PostgreSQL, Redis).

- A solve at the largest size and the longest limit the API accepts answers 200: it ends before
  gunicorn's timeout would kill the worker (issue 17: a 120-s solve was cut off after 31 s).
- A chunked request body (no Content-Length) larger than the API's limit answers 413 in the API's
  error shape; a small chunked body is parsed, not read as empty.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.utils import timezone as djtz
from rest_framework.authtoken.models import Token

from tests.api.live import call
from tests.factories import PersonFactory, RoomFactory, UserFactory

from .conftest import needs_services

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _largest_solve_body(*, rooms: list[int], people: list[int]) -> dict:
    """The serializer's maxima: 300 meetings, 14 days, 200 rooms, the finest grid over the whole day."""
    rng = random.Random(17)
    first = djtz.localdate() + timedelta(days=60)
    meetings = []
    for i in range(300):
        required = rng.sample(people, rng.randint(1, 10))
        optional = [p for p in rng.sample(people, rng.randint(0, 10)) if p not in required]
        meetings.append({"key": f"m{i}", "title": f"Meeting {i}", "duration_minutes": rng.randrange(30, 125, 5),
                         "required": required, "optional": optional})
    return {
        "timezone": "Europe/Berlin", "days": [(first + timedelta(days=d)).isoformat() for d in range(14)],
        "day_start": "00:00", "day_end": "23:55", "granularity_minutes": 5, "rooms": rooms, "meetings": meetings,
        "time_limit_seconds": settings.VISITDESK_SOLVE_MAX_SECONDS,
    }


def test_a_solve_at_the_largest_size_and_longest_limit_completes(gunicorn_server):
    coordinator = UserFactory(username="deploy-coordinator", is_staff=True)
    token = Token.objects.create(user=coordinator).key
    rooms = [RoomFactory(name=f"Room {i}", capacity=20 + i % 30).pk for i in range(200)]
    people = [PersonFactory().pk for _ in range(400)]
    server = gunicorn_server()

    started = time.monotonic()
    status, body = call(f"{server.url}/api/v1/scheduling/solve/", "POST", _largest_solve_body(rooms=rooms, people=people),
                        token=token, timeout=settings.VISITDESK_WEB_TIMEOUT + 30)
    elapsed = time.monotonic() - started
    print(f"largest solve: {elapsed:.1f} s wall, limit {settings.VISITDESK_SOLVE_MAX_SECONDS:g} s, "
          f"gunicorn timeout {settings.VISITDESK_WEB_TIMEOUT} s, status {body.get('status')}")
    assert status == 200, (status, body, server.log_text())
    assert body["status"] in {"optimal", "feasible", "infeasible", "unknown"}
    assert len(body["assignments"]) + len(body["unplaced"]) == 300
    assert "WORKER TIMEOUT" not in server.log_text()


def _chunked_post(url: str, path: str, token: str, payload: bytes, chunk: int = 64 * 1024) -> tuple[int, dict]:
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Authorization", f"Token {token}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Accept", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for start in range(0, len(payload), chunk):
            piece = payload[start:start + chunk]
            try:
                connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered early and closed: read its answer
        else:
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_chunked_bodies_are_parsed_and_limited(gunicorn_server):
    coordinator = UserFactory(username="deploy-chunked", is_staff=True)
    token = Token.objects.create(user=coordinator).key
    server = gunicorn_server()

    big = json.dumps({"title": "x" * (3 * 1024 * 1024)}).encode()
    status, body = _chunked_post(server.url, "/api/v1/meetings/", token, big)
    assert status == 413, body
    assert body["error"]["code"] == "too_large"

    # A small chunked body is read (its field errors name the fields it lacks, not "title").
    status, body = _chunked_post(server.url, "/api/v1/meetings/", token, json.dumps({"title": "Chunked"}).encode())
    assert status == 400, body
    assert "title" not in body["error"]["fields"] and "starts_at" in body["error"]["fields"]
