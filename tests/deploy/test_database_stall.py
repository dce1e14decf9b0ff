"""A database stall fails fast (issue 17): a table lock held elsewhere makes requests answer 503.

Before, ``LOCK TABLE events_meeting`` held for 45 s froze every gunicorn worker: API, pages and
feeds answered after 30 s with gunicorn's HTML 500 and ``/readyz`` said the database was fine.
Here the deployed server (gunicorn, production settings, PostgreSQL) runs with short web timeouts
(lock 1 s, statement 3 s) while another connection holds that lock: the API answers 503 in its JSON
shape, a page and a feed with a plain 503, all with ``Retry-After`` and within seconds; ``/readyz``
is 503 naming the database, ``/healthz`` 200; and everything answers normally once the lock goes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from rest_framework.authtoken.models import Token

from tests.integration.conftest import worker_database_url

from .conftest import needs_services

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOCK_TIMEOUT = 1
STATEMENT_TIMEOUT = 3
#: Far below gunicorn's 60-s kill: the answer comes from the database timeouts, not the server's.
ANSWER_WITHIN = 10


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, str], bytes, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read(), time.monotonic() - started


def test_a_locked_meetings_table_answers_503_fast_and_recovers(world, gunicorn_server):
    token = Token.objects.get_or_create(user=world.coordinator)[0].key
    server = gunicorn_server(VISITDESK_DB_LOCK_TIMEOUT=str(LOCK_TIMEOUT),
                             VISITDESK_DB_STATEMENT_TIMEOUT=str(STATEMENT_TIMEOUT))
    api = f"{server.url}/api/v1/meetings/"
    page = f"{server.url}/visits/status/{world.visit.status_token}/"
    feed = f"{server.url}/calendars/people/{world.host_person.feed_token}.ics"

    holder = psycopg.connect(worker_database_url())  # autocommit off: the lock lasts until rollback
    try:
        holder.execute("LOCK TABLE events_meeting IN ACCESS EXCLUSIVE MODE")

        status, headers, body, took = _get(api, token)
        assert status == 503, (status, body[:300], server.log_text())
        assert json.loads(body)["error"]["code"] == "database_busy"
        assert headers["Retry-After"].isdigit() and took < ANSWER_WITHIN, (headers, took)

        for url in (page, feed):
            status, headers, body, took = _get(url)
            assert status == 503, (url, status, body[:300], server.log_text())
            assert headers["Content-Type"].startswith("text/html") and b"try again" in body
            assert headers["Retry-After"].isdigit() and took < ANSWER_WITHIN, (url, took)

        status, _, body, took = _get(f"{server.url}/readyz")
        assert status == 503 and json.loads(body)["checks"]["database"].startswith("down"), body
        assert took < ANSWER_WITHIN
        status, _, body, _ = _get(f"{server.url}/healthz")
        assert (status, body) == (200, b"ok")
    finally:
        holder.rollback()
        holder.close()

    status, _, body, _ = _get(api, token)
    assert status == 200 and json.loads(body)["count"] >= 1, body[:300]
    assert _get(page)[0] == 200
    status, _, body, _ = _get(feed)
    assert status == 200 and b"BEGIN:VCALENDAR" in body
    status, _, body, _ = _get(f"{server.url}/readyz")
    assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "broker": "ok"}, body
    assert "WORKER TIMEOUT" not in server.log_text()
