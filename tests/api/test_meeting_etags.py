"""Stale writes are refused: every meeting response carries an ETag, and a write with an old If-Match is 412."""

from __future__ import annotations

import pytest

from events import services as event_services
from events.models import Meeting
from tests.api.conftest import next_week

pytestmark = pytest.mark.django_db


def _etag(client, meeting) -> str:
    r = client.get(f"/api/v1/meetings/{meeting.pk}/")
    assert r.status_code == 200
    return r["ETag"]


def test_a_meeting_read_has_a_strong_etag_that_changes_on_every_write(world, coordinator_client):
    first = _etag(coordinator_client, world.meeting)
    assert first.startswith('"') and first.endswith('"')
    assert _etag(coordinator_client, world.meeting) == first  # a read changes nothing
    # a participant change does not raise SEQUENCE, but must still change the ETag
    sequence = Meeting.objects.get(pk=world.meeting.pk).sequence
    event_services.participant_add(meeting=world.meeting, person=world.other_person, role="guest")
    assert Meeting.objects.get(pk=world.meeting.pk).sequence == sequence
    assert _etag(coordinator_client, world.meeting) != first


def test_a_write_with_the_current_etag_succeeds_and_answers_the_new_one(world, coordinator_client):
    tag = _etag(coordinator_client, world.meeting)
    r = coordinator_client.patch(f"/api/v1/meetings/{world.meeting.pk}/", {"title": "Lab tour (short)"},
                                 format="json", HTTP_IF_MATCH=tag)
    assert r.status_code == 200, r.content
    assert r["ETag"] != tag and r["ETag"] == _etag(coordinator_client, world.meeting)
    assert Meeting.objects.get(pk=world.meeting.pk).title == "Lab tour (short)"


def test_a_stale_if_match_is_412_and_changes_nothing(world, coordinator_client):
    stale = _etag(coordinator_client, world.meeting)
    event_services.participant_add(meeting=world.meeting, person=world.other_person, role="guest")  # someone else
    before = Meeting.objects.get(pk=world.meeting.pk)
    r = coordinator_client.patch(
        f"/api/v1/meetings/{world.meeting.pk}/",
        {"starts_at": next_week(12).isoformat(), "ends_at": next_week(13).isoformat()},
        format="json", HTTP_IF_MATCH=stale,
    )
    assert r.status_code == 412, r.content
    assert r.json()["error"]["code"] == "stale"
    after = Meeting.objects.get(pk=world.meeting.pk)
    assert (after.starts_at, after.sequence, after.updated_at) == (before.starts_at, before.sequence, before.updated_at)


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_actions_honour_if_match_too(world, coordinator_client, action):
    stale = '"0.0.0"'
    body = {"starts_at": next_week(12).isoformat(), "ends_at": next_week(13).isoformat()} if action == "reschedule" else None
    r = coordinator_client.post(f"/api/v1/meetings/{world.meeting.pk}/{action}/", body, format="json",
                                HTTP_IF_MATCH=stale)
    assert r.status_code == 412
    assert Meeting.objects.get(pk=world.meeting.pk).status == "scheduled"
    fresh = _etag(coordinator_client, world.meeting)
    r = coordinator_client.post(f"/api/v1/meetings/{world.meeting.pk}/{action}/", body, format="json",
                                HTTP_IF_MATCH=f'W/"x", {fresh}')
    assert r.status_code == 200, r.content


def test_without_if_match_or_with_a_star_writes_behave_as_before(world, coordinator_client):
    r = coordinator_client.patch(f"/api/v1/meetings/{world.meeting.pk}/", {"title": "A"}, format="json")
    assert r.status_code == 200
    r = coordinator_client.patch(f"/api/v1/meetings/{world.meeting.pk}/", {"title": "B"}, format="json",
                                 HTTP_IF_MATCH="*")
    assert r.status_code == 200 and Meeting.objects.get(pk=world.meeting.pk).title == "B"


def test_a_weak_tag_never_matches(world, coordinator_client):
    tag = _etag(coordinator_client, world.meeting)
    r = coordinator_client.patch(f"/api/v1/meetings/{world.meeting.pk}/", {"title": "A"}, format="json",
                                 HTTP_IF_MATCH=f"W/{tag}")
    assert r.status_code == 412


def test_the_schema_documents_if_match_and_412(world, coordinator_client):
    schema = coordinator_client.get("/api/schema/?format=json").json()
    patch = schema["paths"]["/api/v1/meetings/{id}/"]["patch"]
    assert "412" in patch["responses"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])
    assert "412" not in schema["paths"]["/api/v1/meetings/"]["post"]["responses"]
