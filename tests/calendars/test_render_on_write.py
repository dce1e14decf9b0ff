"""Render on write: the worker, the deployment command and the bounded read fallback fill the
fragment store, and no two writers render the same fragment at the same time."""

from __future__ import annotations

import os
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from calendars import fragments, ical, tasks
from calendars.models import MeetingICal
from events.models import Meeting
from events.services import meeting_update
from tests.factories import PersonFactory
from tests.integration.conftest import Worker, needs_services, private_task_queue, wait_for, worker_database_url


def _current(meeting: Meeting) -> bool:
    meeting.refresh_from_db()
    row = MeetingICal.objects.filter(meeting=meeting).first()
    return bool(row and row.version == fragments.fragment_version() and row.rendered_for == meeting.updated_at)


@pytest.fixture
def queued(monkeypatch):
    """What the after-commit receiver hands the worker (instead of a broker)."""
    calls: list[list[int]] = []
    monkeypatch.setattr(tasks.render_fragments, "apply_async", lambda args, **kw: calls.append(args[0]))
    return calls


def test_a_committed_change_queues_its_meetings_for_the_worker(make_meeting, queued,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = make_meeting(participants=[(PersonFactory(), "host")])
    assert queued == [[meeting.pk]]
    assert not _current(meeting)  # nothing rendered in the request

    assert tasks.render_fragments(queued[0]) == 1  # what the worker runs
    assert _current(meeting)
    assert tasks.render_fragments(queued[0]) == 0  # already current: nothing rendered twice

    with django_capture_on_commit_callbacks(execute=True):
        meeting_update(meeting=meeting, title="Moved talk")
    assert queued[-1] == [meeting.pk] and not _current(meeting)
    tasks.render_fragments(queued[-1])
    assert _current(meeting)


def test_the_deployment_command_renders_everything_stale_once(make_meeting, queued, monkeypatch):
    meetings = [make_meeting(title=f"M{i}") for i in range(3)]
    out = StringIO()
    call_command("render_calendar_fragments", stdout=out)
    assert "rendered 3 calendar fragments" in out.getvalue()
    assert all(_current(m) for m in meetings)

    # A renderer change makes every fragment stale; the command renders them again, once.
    monkeypatch.setattr(ical, "RENDERER_VERSION", ical.RENDERER_VERSION + "-next")
    assert not any(_current(m) for m in meetings)
    call_command("render_calendar_fragments", stdout=out)
    assert all(_current(m) for m in meetings)
    call_command("render_calendar_fragments", stdout=(again := StringIO()))
    assert "rendered 0 calendar fragments" in again.getvalue()


def test_the_command_can_hand_the_work_to_the_worker(make_meeting, queued):
    meetings = [make_meeting(title=f"M{i}") for i in range(3)]
    out = StringIO()
    call_command("render_calendar_fragments", "--queue", stdout=out)
    assert "queued 3" in out.getvalue()
    assert sorted(pk for batch in queued for pk in batch) == sorted(m.pk for m in meetings)


def test_a_read_renders_a_few_stale_fragments_but_hands_many_to_the_worker(make_meeting, queued, settings):
    meetings = [make_meeting(title=f"M{i}") for i in range(3)]
    settings.VISITDESK_FEED_RENDER_ON_READ = 2
    with pytest.raises(fragments.TooManyStale):
        fragments.render_on_read([m.pk for m in meetings])
    assert queued == [sorted(m.pk for m in meetings)]
    assert not any(_current(m) for m in meetings)

    fragments.render_on_read([m.pk for m in meetings[:2]])
    assert [_current(m) for m in meetings] == [True, True, False]


@pytest.mark.django_db(transaction=True)
def test_two_writers_never_render_the_same_fragment(on_postgres, make_meeting, monkeypatch):
    """Two threads (two connections) render the same 40 meetings at once: each is rendered once."""
    meetings = [make_meeting(title=f"M{i}") for i in range(40)]
    monkeypatch.setattr(fragments, "CHUNK", 10)
    rendered: list[int] = []
    real = fragments.fragments_refresh
    lock = threading.Lock()
    start = threading.Barrier(2, timeout=20)

    def counting(ms):
        with lock:
            rendered.extend(m.pk for m in ms)
        return real(ms)

    monkeypatch.setattr(fragments, "fragments_refresh", counting)
    errors = []

    def writer(ids):
        try:
            start.wait()
            fragments.render(ids)
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    ids = [m.pk for m in meetings]
    threads = [threading.Thread(target=writer, args=(order,)) for order in (ids, list(reversed(ids)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert sorted(rendered) == sorted(ids)  # every fragment rendered exactly once
    assert all(_current(m) for m in meetings)


# --- the real thing: a worker over Redis renders what the request did not -------------------------


@pytest.fixture
def calendars_worker(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VISITDESK_TESTING": "1",
           "DATABASE_URL": worker_database_url(), "DATABASE_CONN_MAX_AGE": "0",
           "VISITDESK_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    with private_task_queue("calendars") as queue:
        proc = Worker(env=env, queue=queue, log=tmp_path / "worker.log")
        proc.start()
        try:
            yield proc
        finally:
            proc.stop()


@pytest.mark.integration
@needs_services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_fragment_after_commit(calendars_worker, make_meeting):
    meeting = make_meeting(participants=[(PersonFactory(), "host")])  # autocommit: on_commit runs at once
    wait_for(lambda: _current(meeting), timeout=60, what="the worker to render the meeting's fragments")
    meeting_update(meeting=meeting, title="Renamed on the record")
    wait_for(lambda: _current(meeting), timeout=60, what="the worker to render the change")
    assert "Renamed on the record" in MeetingICal.objects.get(meeting=meeting).private


def test_a_feed_with_too_many_stale_entries_answers_503_and_queues_them(client, make_meeting, queued, settings):
    from calendars.links import person_feed_url

    person = PersonFactory()
    meetings = [make_meeting(title=f"M{i}", participants=[(person, "guest")]) for i in range(3)]
    settings.VISITDESK_FEED_RENDER_ON_READ = 2

    response = client.get(person_feed_url(person))
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert sorted(pk for batch in queued for pk in batch) == sorted(m.pk for m in meetings)

    tasks.render_fragments(queued[-1])  # the worker catches up; the next poll is a normal feed
    again = client.get(person_feed_url(person))
    assert again.status_code == 200
    assert all(m.uid in again.content.decode() for m in meetings)
