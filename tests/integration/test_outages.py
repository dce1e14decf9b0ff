"""Redis down, the web side still keeps its promises.

Redis is both the broker and the cache. Here both point at a port where nothing listens (no mocks:
the real clients get "connection refused"), and:

- a committed write answers its success code — the after-commit nudge and the feed-generation bump
  fail, are logged, and change nothing of the answer (it used to be a 500 for a stored meeting);
- a retry with the same ``Idempotency-Key`` gets the stored answer, and the meeting exists once;
- the public request form's throttle (kept in the cache) lets the request through;
- ``/readyz`` names the broker as down, the database as fine; ``/healthz`` stays ``ok``;
- the dispatcher (beat's next run, once Redis is back) sends what is owed.

These run on every pass (SQLite and PostgreSQL): an unreachable Redis is the same everywhere.
"""

from __future__ import annotations

import json
import logging

import pytest
from rest_framework.test import APIClient

from events.models import Meeting
from notifications import dispatch
from notifications.models import OutboxMessage
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


#: Nothing listens on TCP port 1 (tcpmux, never run): connections are refused at once. Not a
#: "free" ephemeral port: another test running in parallel could bind that one meanwhile.
CLOSED_PORT = 1


@pytest.fixture
def redis_down(settings, monkeypatch):
    from config.celery import app

    url = f"redis://127.0.0.1:{CLOSED_PORT}/0"
    # The Celery app first: its ``broker_url`` reads Django settings lazily, so patching it after
    # the settings would record the dead URL as the value to restore — and every later test in
    # this process would nudge a broker that is not there.
    monkeypatch.setattr(app.conf, "broker_url", url)
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": url,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    settings.CELERY_BROKER_URL = url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0
    # Fresh connection and producer pools for the dead broker: other tests in this process may
    # have left pools connected to the live one.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    monkeypatch.setattr("notifications.tasks.NUDGES.paused_until", 0.0)
    monkeypatch.setattr("config.cache.ResilientRedisCache._last_logged", 0.0)
    return url


def _meeting_body(person) -> dict:
    return {
        "title": "Stem cell lab tour", "starts_at": "2027-02-01T10:00:00+01:00", "ends_at": "2027-02-01T11:00:00+01:00",
        "timezone": "Europe/Berlin", "location": "Lab 1", "participants": [{"person": person.pk, "role": "guest"}],
    }


def test_a_committed_write_answers_success_and_a_retry_replays_it_while_redis_is_down(redis_down, caplog):
    api = APIClient()
    api.force_authenticate(UserFactory(username="coord-outage", is_staff=True))
    guest = PersonFactory(email="guest-outage@example.org")
    headers = {"HTTP_IDEMPOTENCY_KEY": "c0ffee-outage-1"}
    with caplog.at_level(logging.WARNING):
        first = api.post("/api/v1/meetings/", _meeting_body(guest), format="json", **headers)
    assert first.status_code == 201, first.content[:500]
    assert any("could not enqueue notifications.dispatch_due" in r.getMessage() for r in caplog.records), \
        "the failed nudge is logged"
    assert any("cache unavailable" in r.getMessage() or "feed validators" in r.getMessage() for r in caplog.records)

    again = api.post("/api/v1/meetings/", _meeting_body(guest), format="json", **headers)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Meeting.objects.filter(title="Stem cell lab tour").count() == 1

    # Beat's next run (here in-process) owes and sends the invite the nudge could not announce.
    dispatch.dispatch_due()
    assert OutboxMessage.objects.filter(person=guest, state=OutboxMessage.State.SENT).count() == 1


def test_the_public_request_form_still_takes_requests_while_redis_is_down(redis_down):
    from tests.api.conftest import visit_request_body

    response = APIClient().post("/api/v1/visit-requests/", visit_request_body(topics=[]), format="json")
    assert response.status_code == 201, response.content[:500]
    assert response.json()["reference"].startswith("VIS-")


def test_readyz_names_the_dependency_that_is_down_and_healthz_stays_live(client, redis_down):
    ready = client.get("/readyz", HTTP_HOST="internal-probe")
    assert ready.status_code == 503
    body = json.loads(ready.content)
    assert body == {"status": "unavailable", "checks": {"database": "ok", "broker": "down (ConnectionError)"}}
    assert "127.0.0.1" not in ready.content.decode() and "redis://" not in ready.content.decode(), "no addresses leak"
    live = client.get("/healthz", HTTP_HOST="internal-probe")
    assert live.status_code == 200 and live.content == b"ok"


def test_readyz_is_ready_when_everything_answers(client):
    response = client.get("/readyz", HTTP_HOST="internal-probe")
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_names_the_database_when_it_is_down(client, monkeypatch):
    from config import health

    def refuse():
        raise ConnectionRefusedError("no database")

    monkeypatch.setitem(health.CHECKS, "database", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["database"] == "down (ConnectionRefusedError)"
