"""Render on write: the worker, the deployment command and the bounded read fallback fill the
fragment store, and no two writers render the same fragment at the same time."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from calendars import fragments, ical, render_queue, tasks
from calendars.models import MeetingICal, RenderRequest
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
    """The render tasks handed to the broker (instead of a broker): one entry per ``apply_async``."""
    calls: list[dict] = []
    monkeypatch.setattr(tasks.render_stale, "apply_async", lambda *args, **kw: calls.append(kw))
    monkeypatch.setattr(tasks.RENDERS, "paused_until", 0.0)
    return calls


def test_a_committed_change_queues_a_render_for_the_worker(make_meeting, queued,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = make_meeting(participants=[(PersonFactory(), "host")])
    assert len(queued) == 1 and queued[0]["countdown"] == tasks.COALESCE_SECONDS
    assert not _current(meeting)  # nothing rendered in the request

    assert tasks.render_stale() == 1  # what the worker runs
    assert _current(meeting)
    assert tasks.render_stale() == 0  # already current: nothing rendered twice

    with django_capture_on_commit_callbacks(execute=True):
        meeting_update(meeting=meeting, title="Moved talk")
    assert len(queued) == 2 and not _current(meeting)  # the task that ran released the claim
    tasks.render_stale()
    assert _current(meeting)


def test_many_commits_queue_one_render_task(make_meeting, queued, django_capture_on_commit_callbacks):
    """A burst of changes (an import through the API) waits for one task, which renders them all."""
    meetings = []
    for i in range(6):
        with django_capture_on_commit_callbacks(execute=True):  # six separate commits
            meetings.append(make_meeting(title=f"M{i}", participants=[(PersonFactory(), "host")]))
    assert len(queued) == 1
    assert render_queue.is_claimed()

    assert tasks.render_stale() == 6
    assert all(_current(m) for m in meetings) and not render_queue.is_claimed()
    with django_capture_on_commit_callbacks(execute=True):
        meeting_update(meeting=meetings[0], title="After the render")
    assert len(queued) == 2


def test_a_claim_whose_task_never_started_expires(make_meeting, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_meeting()
    RenderRequest.objects.filter(pk=render_queue.ROW).update(
        queued_at=timezone.now() - render_queue.CLAIM_EXPIRES - timedelta(seconds=1))  # its message was lost
    with django_capture_on_commit_callbacks(execute=True):
        make_meeting()
    assert len(queued) == 2


def test_a_broker_failure_releases_the_claim(make_meeting, monkeypatch, django_capture_on_commit_callbacks):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.render_stale, "apply_async", down)
    monkeypatch.setattr(tasks.RENDERS, "paused_until", 0.0)
    with django_capture_on_commit_callbacks(execute=True):
        make_meeting()  # the write succeeds whatever the broker does
    assert not render_queue.is_claimed()  # the next change (or beat) tries again


def test_a_render_task_is_bounded_and_queues_its_continuation(make_meeting, queued, monkeypatch):
    meetings = [make_meeting(title=f"M{i}") for i in range(5)]
    monkeypatch.setattr(tasks, "MAX_PER_TASK", 2)
    queued.clear()
    assert tasks.render_stale() == 2
    assert [call["countdown"] for call in queued] == [0]  # the rest follows at once, behind other work
    assert tasks.render_stale() == 2
    assert tasks.render_stale() == 1
    assert len(queued) == 2  # the last one found nothing more to do
    assert all(_current(m) for m in meetings)


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
    assert queued == [{"countdown": 0, "retry": False}]  # one task; it renders in bounded steps
    assert tasks.render_stale() == 3
    assert all(_current(m) for m in meetings)


def test_a_read_renders_a_few_stale_fragments_but_hands_many_to_the_worker(make_meeting, queued, settings):
    meetings = [make_meeting(title=f"M{i}") for i in range(3)]
    settings.VISITDESK_FEED_RENDER_ON_READ = 2
    with pytest.raises(fragments.TooManyStale):
        fragments.render_on_read([m.pk for m in meetings])
    assert queued == [{"countdown": 0, "retry": False}]
    assert not any(_current(m) for m in meetings)

    fragments.render_on_read([m.pk for m in meetings[:2]])
    assert [_current(m) for m in meetings] == [True, True, False]


def test_a_read_never_queues_a_render_already_queued(make_meeting, queued, settings, client,
                                                     django_capture_on_commit_callbacks):
    """Subscribers polling a feed while an import is being rendered add nothing to the queue."""
    from calendars.links import person_feed_url

    person = PersonFactory()
    for i in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            make_meeting(title=f"M{i}", participants=[(person, "guest")])
    assert len(queued) == 1  # the writes' one task, not started yet
    settings.VISITDESK_FEED_RENDER_ON_READ = 2
    for _poll in range(5):
        assert client.get(person_feed_url(person)).status_code == 503
    assert len(queued) == 1

    tasks.render_stale()  # the worker starts it: the claim is released, the rest rendered
    assert client.get(person_feed_url(person)).status_code == 200
    assert len(queued) == 1


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
        proc = Worker(env=env, queue=queue, log=tmp_path / "worker.log", concurrency=1)  # one process, as in the issue
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


@pytest.mark.integration
@needs_services
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_writes_ends_with_a_complete_feed(calendars_worker, make_meeting, client, settings):
    """40 meetings committed one by one while the subscriber polls: a handful of coalesced renders
    (not one per commit), and the feed ends complete, every meeting in it and nothing stale."""
    from calendars.links import person_feed_url

    settings.VISITDESK_FEED_RENDER_ON_READ = 5  # polls during the burst hand the work over, as under an import
    person = PersonFactory()
    meetings = []
    for i in range(40):
        meetings.append(make_meeting(title=f"Imported {i}", participants=[(person, "guest")]))  # autocommit
        if i % 10 == 9:
            assert client.get(person_feed_url(person)).status_code in (200, 503)

    def complete() -> bool:
        response = client.get(person_feed_url(person))
        return response.status_code == 200 and all(m.uid in response.content.decode() for m in meetings)

    wait_for(complete, timeout=90, what="the feed to list every meeting of the burst")
    assert fragments.stale_ids([m.pk for m in meetings]) == []
    log = calendars_worker.log.read_text(errors="replace").splitlines()
    ran = sum("Task calendars.render_stale[" in line and "succeeded" in line for line in log)
    assert 1 <= ran < len(meetings) // 2, ran  # coalesced: far fewer tasks than commits


def test_a_feed_with_too_many_stale_entries_answers_503_and_queues_them(client, make_meeting, queued, settings):
    from calendars.links import person_feed_url

    person = PersonFactory()
    meetings = [make_meeting(title=f"M{i}", participants=[(person, "guest")]) for i in range(3)]
    settings.VISITDESK_FEED_RENDER_ON_READ = 2

    response = client.get(person_feed_url(person))
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert len(queued) == 1

    tasks.render_stale()  # the worker catches up; the next poll is a normal feed
    again = client.get(person_feed_url(person))
    assert again.status_code == 200
    assert all(m.uid in again.content.decode() for m in meetings)
