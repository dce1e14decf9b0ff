"""Two 500s the full schemathesis search found after the API's split into per-resource viewsets.

- A PATCH whose nested list items leave out a required field (an agenda item without a title, a
  participant without a person): DRF hands ``partial`` down to nested serializers, so the item skipped
  its required fields and defaults. Items are written whole: a 400 naming the field; defaults filled.
- ``OPTIONS`` on an action whose input is not the viewset's serializer: DRF's metadata built every
  POST route's serializer. Now OPTIONS describes the view only (the schema describes inputs).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _patch(client, world, **body):
    return client.patch(f"/api/v1/meetings/{world.meeting.pk}/", body, format="json")


def test_a_patched_agenda_item_without_a_title_is_a_field_error(world, coordinator_client):
    r = _patch(coordinator_client, world, agenda_items=[{"topic": world.topic.slug, "minutes": 5}])
    assert r.status_code == 400, r.content
    assert r.json()["error"]["fields"]["agenda_items"]["0"] == {"title": ["This field is required."]}
    world.meeting.refresh_from_db()
    assert [a.title for a in world.meeting.agenda_items.all()] == ["Welcome"]  # nothing stored was lost


def test_a_patched_participant_without_a_person_is_a_field_error_and_the_role_defaults(world, coordinator_client):
    r = _patch(coordinator_client, world, participants=[{"role": "host"}])
    assert r.status_code == 400 and "person" in r.json()["error"]["fields"]["participants"]["0"], r.content
    r = _patch(coordinator_client, world, participants=[
        {"person": world.host_person.pk, "role": "chair"}, {"person": world.visit.contact.pk}])
    assert r.status_code == 200, r.content
    roles = {p["person"]: p["role"] for p in r.json()["participants"]}
    assert roles[world.visit.contact.pk] == "guest"  # the default, also inside a PATCH


@pytest.mark.parametrize("path", ["/api/v1/me/rotate-feed-token/", "/api/v1/scheduling/solve/",
                                  "/api/v1/visit-requests/", "/api/v1/meetings/"])
def test_options_describes_the_view_without_building_serializers(world, coordinator_client, path):
    r = coordinator_client.options(path)
    assert r.status_code == 200, r.content
    assert set(r.json()) == {"name", "description", "renders", "parses"}
