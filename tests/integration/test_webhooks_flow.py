"""End to end through the real parts: API → services → PostgreSQL → after-commit signal → Redis →
Celery worker process → signed POST → a local HTTP receiver, verified with ``standardwebhooks``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from tests.factories import PersonFactory
from tests.webhooks.receiver import start_receiver
from webhooks.models import WebhookDelivery

from .conftest import needs_services, private_task_queue, wait_for

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_queue(settings):
    """The worker takes this session's notifications *and* webhooks tasks."""
    with private_task_queue("notifications", "webhooks") as queue:
        yield queue


@pytest.fixture
def receiver(settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True  # the API checks the local receiver's address
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def payloads(receiver, secret: str) -> list[tuple[dict, dict]]:
    """(verified payload, headers) of everything received; verification failing is a test failure."""
    return [(Webhook(secret).verify(r.body, r.headers), r.headers) for r in receiver.snapshot()]


def test_booking_a_meeting_through_the_api_reaches_the_receiver_signed(make_worker, receiver):
    worker = make_worker(VISITDESK_BUSY_FETCH_ALLOW_PRIVATE="1")
    worker.start()
    user = get_user_model().objects.create_user("coord", "coordinator@host.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    registered = api.post("/api/v1/webhooks/", {
        "url": receiver.url, "description": "Reception desk",
        "event_types": ["meeting.created", "meeting.changed", "answer.received"]}, format="json")
    assert registered.status_code == 201, registered.content
    secret, endpoint_id = registered.json()["secret"], registered.json()["id"]

    host = PersonFactory(name="Integration Host")
    day = timezone.localdate() + timedelta(days=7)
    created = api.post("/api/v1/meetings/", {
        "title": "Integration: badge printing", "starts_at": f"{day}T10:00:00+01:00",
        "ends_at": f"{day}T11:00:00+01:00", "timezone": "Europe/Berlin", "location": "Reception",
        "participants": [{"person": host.pk, "role": "host"}],
    }, format="json")
    assert created.status_code == 201, created.content
    meeting = created.json()

    first = wait_for(lambda: payloads(receiver, secret), what="the meeting.created delivery")
    payload, headers = first[0]
    assert payload["type"] == "meeting.created" and payload["version"] == 1
    assert (payload["data"]["meeting"]["id"], payload["data"]["meeting"]["uid"]) == (meeting["id"], meeting["uid"])
    assert headers["webhook-id"].startswith("msg_")

    # The host's answer first, then the move. (Answered after a move but before the updated invitation went
    # out, the answer is asked again when the update is sent — notifications resets it — so which events
    # exist would depend on the worker's timing.)
    answered = api.post(f"/api/v1/meetings/{meeting['id']}/rsvp/", {"person": host.pk, "rsvp": "accepted"},
                        format="json")
    assert answered.status_code == 200, answered.content
    wait_for(lambda: len(payloads(receiver, secret)) >= 2, what="the answer")
    moved = api.post(f"/api/v1/meetings/{meeting['id']}/reschedule/", {
        "starts_at": f"{day}T12:00:00+01:00", "ends_at": f"{day}T13:00:00+01:00"}, format="json")
    assert moved.status_code == 200, moved.content
    got = wait_for(lambda: len(found := payloads(receiver, secret)) >= 3 and found, what="the change")
    assert [p["type"] for p, _ in got] == ["meeting.created", "answer.received", "meeting.changed"]
    assert got[1][0]["data"]["answer"] == "accepted"
    assert got[2][0]["data"]["meeting"]["sequence"] == moved.json()["sequence"]

    test = api.post(f"/api/v1/webhooks/{endpoint_id}/test/", {}, format="json")
    assert test.status_code == 202
    wait_for(lambda: any(p["type"] == "webhook.test" for p, _ in payloads(receiver, secret)), what="the test event")

    log = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").json()["results"]
    wait_for(lambda: WebhookDelivery.objects.filter(state="delivered").count() == 4, what="four delivered rows")
    assert len(log) == 4
    ids = [h["webhook-id"] for _, h in payloads(receiver, secret)]
    assert len(ids) == len(set(ids)) == 4, "a delivery was sent twice"
    assert set(WebhookDelivery.objects.values_list("last_status_code", flat=True)) == {200}
    worker.stop()
