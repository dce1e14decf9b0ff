import pytest


@pytest.mark.django_db
def test_meeting_list_for_coordinator(world, coordinator_client):
    r = coordinator_client.get("/api/v1/meetings/")
    assert r.status_code == 200, r.content
    assert r.json()["count"] == 3
