"""The beat task on a real Celery worker over Redis: every due calendar is fetched from a real HTTP
server, a broken one records its error and does not stop the others."""

from __future__ import annotations

import os

import pytest

from availability.models import ExternalBusy, ExternalCalendar
from tests.factories import PersonFactory
from tests.integration.conftest import Worker, needs_services, private_task_queue, wait_for, worker_database_url

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
        "VISITDESK_BUSY_FETCH_TIMEOUT": "5",
        "VISITDESK_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = Worker(env=env, queue=availability_queue, log=tmp_path / "worker.log")
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
