"""Logs and history across processes: a request's id in the log lines of the Celery tasks it queued
(a real worker over Redis, JSON logs as in production), and a change the worker makes recorded in
the history with the task and the request id that started it."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import structlog
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from history.models import VisitEvent
from tests.factories import PersonFactory, VisitFactory
from visits.models import Visit

from .conftest import needs_services, wait_for

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def json_lines(path) -> list[dict]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def finished_request_id(caplog, path: str) -> str:
    for record in caplog.records:
        event = record.msg if isinstance(record.msg, dict) else {}
        if event.get("event") == "request_finished" and path in str(event.get("request", "")):
            return str(event["request_id"])
    raise AssertionError(f"no request_finished line for {path}")


def test_a_request_id_follows_the_request_into_the_worker_tasks_it_queued(make_worker, caplog):
    worker = make_worker(VISITDESK_LOG_FORMAT="json")
    worker.start()
    user = get_user_model().objects.create_user("coord", "coordinator@host.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    host = PersonFactory(name="Log Host", email="log.host@centre.example.org")
    start = timezone.now() + timedelta(days=10)

    caplog.set_level(logging.INFO)
    created = api.post("/api/v1/meetings/", {
        "title": "Logged meeting", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Berlin", "location": "Board room", "participants": [{"person": host.pk, "role": "host"}],
    }, format="json")
    assert created.status_code == 201, created.content
    request_id = finished_request_id(caplog, "/api/v1/meetings/")

    # The meeting's invitation is sent by a task this request queued (after commit): its lines carry the id.
    task_lines = wait_for(
        lambda: [line for line in json_lines(worker.log)
                 if line.get("request_id") == request_id and line.get("event") == "task_succeeded"],
        what="a task_succeeded line with the request's id")
    line = task_lines[0]
    assert line["task_id"] and line["level"] == "info" and line["timestamp"]
    # One line per task at INFO: its start is DEBUG.
    assert not [x for x in json_lines(worker.log) if x.get("event") == "task_started"]


def test_a_change_made_by_the_worker_is_recorded_with_its_task(make_worker):
    from config.celery import app

    worker = make_worker()
    worker.start()
    past = timezone.localdate() - timedelta(days=3)
    visit = VisitFactory(status=Visit.Status.CONFIRMED, starts_on=past - timedelta(days=1), ends_on=past)

    structlog.contextvars.bind_contextvars(request_id="req-from-a-click")
    try:
        app.send_task("visits.complete_past_visits", queue=worker.queue)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")

    event = wait_for(lambda: VisitEvent.objects.filter(pgh_obj_id=visit.pk, status=Visit.Status.COMPLETED)
                     .select_related("pgh_context").first(), what="the worker completing the visit")
    assert event.pgh_context.metadata == {
        "via": "worker", "task": "visits.complete_past_visits", "task_id": event.pgh_context.metadata["task_id"],
        "request_id": "req-from-a-click",
    }
