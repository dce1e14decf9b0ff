"""Idempotency-Key on visit-request and meeting creation: replay, mismatch, scoping, concurrency."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import IdempotencyKey
from events.models import Meeting
from tests.api.conftest import next_week, visit_request_body
from visits.models import Visit

pytestmark = pytest.mark.django_db


def test_visit_request_replay_and_mismatch(world):
    client = APIClient()
    body = visit_request_body(42)
    first = client.post("/api/v1/visit-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="req-42")
    assert first.status_code == 201
    count = Visit.objects.count()
    again = client.post("/api/v1/visit-requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="req-42")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Visit.objects.count() == count

    changed = dict(body, purpose="Something else")
    r = client.post("/api/v1/visit-requests/", changed, format="json", HTTP_IDEMPOTENCY_KEY="req-42")
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_mismatch"
    assert Visit.objects.count() == count

    # Another client may use the same key string for its own request.
    other = APIClient(REMOTE_ADDR="10.1.1.1")
    r = other.post("/api/v1/visit-requests/", visit_request_body(43), format="json", HTTP_IDEMPOTENCY_KEY="req-42")
    assert r.status_code == 201 and r.json()["reference"] != first.json()["reference"]


def test_meeting_replay_mismatch_and_per_user_scope(world, coordinator_client):
    body = {"title": "Idempotent", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat(),
            "room": world.room.pk}
    first = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert first.status_code == 201, first.content
    again = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert Meeting.objects.filter(title="Idempotent").count() == 1
    r = coordinator_client.post("/api/v1/meetings/", dict(body, title="Other"), format="json",
                                HTTP_IDEMPOTENCY_KEY="m-1")
    assert r.status_code == 422
    # Without the key, the same body is a second booking: the room is taken, so 409.
    assert coordinator_client.post("/api/v1/meetings/", body, format="json").status_code == 409


def test_failed_request_releases_the_key(world, coordinator_client):
    body = {"title": "Clash", "starts_at": next_week(10).isoformat(), "ends_at": next_week(11).isoformat(),
            "room": world.room.pk}
    r = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert r.status_code == 409
    assert not IdempotencyKey.objects.filter(key="k-9").exists()
    fixed = dict(body, room=world.spare_room.pk)
    r = coordinator_client.post("/api/v1/meetings/", fixed, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert r.status_code == 201


def test_key_in_progress_answers_409(world, coordinator_client):
    body = {"title": "Slow", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat()}
    # The first request's claim is there but its answer is not (it is still running elsewhere).
    from api.base import _body_hash

    class Req:
        method = "POST"
        path = "/api/v1/meetings/"
        data = body

    IdempotencyKey.objects.create(scope=f"user:{world.coordinator.pk}", endpoint="meeting", key="busy",
                                  request_hash=_body_hash(Req))
    r = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_in_progress"
    assert not Meeting.objects.filter(title="Slow").exists()


def test_a_claim_left_by_a_dead_server_is_taken_over(world, coordinator_client):
    """A web server killed mid-request leaves its claim "in progress" (its work rolled back with it):
    once no request can still be running (gunicorn's timeout has passed), the client's retry books."""
    from datetime import timedelta

    from django.utils import timezone

    from api.base import _body_hash, abandoned_after

    body = {"title": "Retried", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat()}

    class Req:
        method = "POST"
        path = "/api/v1/meetings/"
        data = body

    claim = IdempotencyKey.objects.create(scope=f"user:{world.coordinator.pk}", endpoint="meeting", key="orphan",
                                          request_hash=_body_hash(Req))
    # Younger than the timeout: it may still be running.
    r = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="orphan")
    assert r.status_code == 409
    IdempotencyKey.objects.filter(pk=claim.pk).update(created_at=timezone.now() - abandoned_after() - timedelta(seconds=1))
    r = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="orphan")
    assert r.status_code == 201, r.content
    again = coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="orphan")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert Meeting.objects.filter(title="Retried").count() == 1


def test_the_work_and_the_stored_answer_commit_together(world, coordinator_client, monkeypatch):
    """If storing the answer fails, the meeting is not left behind without it (a retry would book it twice)."""
    from django.db.models import QuerySet

    real_update = QuerySet.update

    def failing_update(self, **kwargs):
        if self.model is IdempotencyKey and kwargs.get("state") == IdempotencyKey.State.DONE:
            raise RuntimeError("the server died here")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", failing_update)
    body = {"title": "Half", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat()}
    with pytest.raises(RuntimeError):
        coordinator_client.post("/api/v1/meetings/", body, format="json", HTTP_IDEMPOTENCY_KEY="half")
    assert not Meeting.objects.filter(title="Half").exists()
    assert not IdempotencyKey.objects.filter(key="half").exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "bad key with spaces", "ümlaut"])
def test_malformed_keys_are_400(world, key):
    r = APIClient().post("/api/v1/visit-requests/", visit_request_body(1), format="json",
                         HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 400
