"""Imports on a real Celery worker over Redis and PostgreSQL.

* The beat task: every due calendar is fetched from a real HTTP server, a broken one records its
  error and does not stop the others.
* Three hostile imports at once (issue 17): the API's "sync now" answers 202 over HTTP without
  waiting for any fetch, a public page and ``/healthz`` answer normally while the worker is busy
  with them, and each import ends with a clean ``last_error`` within its bounds.
"""

from __future__ import annotations

import os
import time
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from availability.models import ExternalBusy, ExternalCalendar
from tests.factories import PersonFactory
from tests.integration.conftest import Worker, needs_services, private_task_queue, wait_for, worker_database_url

from .hostile import HostileServer
from .test_import import Server, ics

pytestmark = [pytest.mark.integration, needs_services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def availability_queue():
    with private_task_queue("availability") as queue:
        yield queue


@pytest.fixture
def worker(tmp_path, availability_queue):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VISITDESK_TESTING": "1",
        "DATABASE_URL": worker_database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "VISITDESK_BUSY_FETCH_ALLOW_PRIVATE": "1",
        "VISITDESK_BUSY_FETCH_TIMEOUT": "3",
        "VISITDESK_BUSY_IMPORT_CPU_SECONDS": "4",
        "VISITDESK_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = Worker(env=env, queue=availability_queue, log=tmp_path / "worker.log", concurrency=3)
    proc.start()
    yield proc
    proc.stop()


def test_beat_task_syncs_every_calendar_on_a_real_worker(worker):
    from availability.tasks import sync_due_calendars

    server = Server()
    try:
        server.routes["/good.ics"] = (200, {}, ics("UID:g@t\nDTSTART:20300101T100000Z\nDTEND:20300101T110000Z",
                                                   "UID:h@t\nRRULE:FREQ=DAILY;COUNT=3\n"
                                                   "DTSTART:20270101T100000Z\nDTEND:20270101T110000Z"))
        server.routes["/broken.ics"] = (200, {}, b"BEGIN:VCALENDAR\r\nthis is broken")
        good = ExternalCalendar.objects.create(person=PersonFactory(), url=server.url("/good.ics"))
        broken = ExternalCalendar.objects.create(person=PersonFactory(), url=server.url("/broken.ics"))
        sync_due_calendars.apply_async()

        def done():
            rows = {c.pk: c for c in ExternalCalendar.objects.filter(pk__in=[good.pk, broken.pk])}
            return rows[good.pk].last_synced_at and rows[broken.pk].last_error and rows
        rows = wait_for(done, timeout=60, what="both calendars to be synced by the worker")
        assert rows[broken.pk].last_synced_at is None
        assert rows[good.pk].last_error == ""
        # the horizon counts from now: only occurrences inside it are stored
        assert rows[good.pk].busy_count == ExternalBusy.objects.filter(calendar=good).count()
        assert {p for p, _ in server.requests} == {"/good.ics", "/broken.ics"}
    finally:
        server.close()


def _get(url: str, *, token: str | None = None, method: str = "GET") -> tuple[int, bytes, float]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    request.add_header("Accept", "application/json, text/html")
    if token:
        request.add_header("Authorization", f"Token {token}")
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read(), time.monotonic() - started


def test_three_hostile_imports_in_the_worker_leave_the_site_answering(worker, live_server):
    import json

    from tests.factories import UserFactory

    hostile = HostileServer()
    try:
        user = UserFactory(username="hostile-host", is_staff=False)
        person = PersonFactory(user=user, timezone="Europe/Berlin")
        token = Token.objects.create(user=user).key
        paths = ["/trickle-body.ics", "/secondly.ics", "/daily-1000.ics"]
        calendars = [ExternalCalendar.objects.create(person=person, url=hostile.url(p)) for p in paths]
        for calendar in calendars:
            status, body, took = _get(f"{live_server.url}/api/v1/external-calendars/{calendar.pk}/sync/",
                                      token=token, method="POST")
            assert status == 202 and json.loads(body)["sync"] in ("queued", "running")
            assert took < 1.5, f"sync answered after {took:.1f} s: it waited for the fetch"

        def running():
            return ExternalCalendar.objects.filter(pk__in=[c.pk for c in calendars], sync_started_at__isnull=False).count()
        wait_for(running, timeout=30, interval=0.05, what="the worker to start the imports")
        # a second "sync now" while it runs queues nothing more
        status, body, _ = _get(f"{live_server.url}/api/v1/external-calendars/{calendars[0].pk}/sync/",
                               token=token, method="POST")
        assert status == 202 and json.loads(body)["sync"] == "running"
        for path in ("/", "/healthz"):
            status, _, took = _get(f"{live_server.url}{path}")
            assert status == 200 and took < 2, f"{path}: {status} after {took:.1f} s"
        assert running() >= 1, "the imports were still running while the page and /healthz answered"

        def finished():
            rows = list(ExternalCalendar.objects.filter(pk__in=[c.pk for c in calendars]))
            return all(r.last_error and r.sync_state == "idle" for r in rows) and rows
        rows = {r.url: r for r in wait_for(finished, timeout=60, what="the three imports to end")}
        assert "took longer than 3 s to download" in rows[hostile.url("/trickle-body.ics")].last_error
        assert "repeats too often" in rows[hostile.url("/secondly.ics")].last_error
        assert "repeats too often" in rows[hostile.url("/daily-1000.ics")].last_error
        assert all(r.last_synced_at is None for r in rows.values())
        assert hostile.requests.count("/trickle-body.ics") == 1  # one sync at a time
    finally:
        hostile.close()
