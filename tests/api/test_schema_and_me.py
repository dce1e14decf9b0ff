"""The OpenAPI document, the Swagger page, and ``me``."""

from __future__ import annotations

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_schema_is_complete():
    r = APIClient().get("/api/schema/")
    assert r.status_code == 200
    schema = yaml.safe_load(r.content)
    assert schema["openapi"].startswith("3.")
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    paths = schema["paths"]
    for path in ("/api/v1/visit-requests/", "/api/v1/visit-requests/{token}/", "/api/v1/me/",
                 "/api/v1/meetings/{id}/rsvp/", "/api/v1/visits/{id}/confirm/", "/api/v1/events/"):
        assert path in paths, path
    create = paths["/api/v1/meetings/"]["post"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(create["responses"])
    assert create["responses"]["409"]["content"]["application/json"]["examples"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    public = paths["/api/v1/visit-requests/"]["post"]
    assert public.get("security") in (None, [], [{}]) and "429" in public["responses"]
    meeting = schema["components"]["schemas"]["Meeting"]["properties"]
    assert {"id", "uid", "sequence", "status", "ics_url", "participants", "agenda_items"} <= set(meeting)
    request = schema["components"]["schemas"]["VisitRequestInputRequest"]["properties"]
    assert set(request) == {"organisation", "contact", "delegation", "preferred_windows", "topics", "purpose",
                            "duration"}


def test_swagger_ui_is_served_without_a_cdn():
    r = APIClient().get("/api/docs/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "swagger-ui" in page and "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_me_and_rotating_the_calendar_token(world):
    client = world.client("host")
    me = client.get("/api/v1/me/").json()
    assert me["id"] == world.host_person.pk and me["is_coordinator"] is False
    assert me["calendar_url"].startswith("http") and me["calendar_url"].endswith(".ics")
    assert me["webcal_url"] == "webcal://" + me["calendar_url"].split("://", 1)[1]
    rotated = client.post("/api/v1/me/rotate-feed-token/", {}, format="json").json()
    assert rotated["calendar_url"] != me["calendar_url"]
    assert client.get("/api/v1/me/").json()["calendar_url"] == rotated["calendar_url"]


def test_me_without_a_person_is_404(world):
    from rest_framework.authtoken.models import Token

    from tests.factories import UserFactory

    user = UserFactory(username="loner", is_staff=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/v1/me/").status_code == 404
    assert client.get("/api/v1/meetings/").json()["count"] == 0


def test_coordinators_group_counts_as_coordinator(world):
    from django.contrib.auth.models import Group

    world.host.groups.add(Group.objects.create(name="coordinators"))
    client = world.client("host")
    assert client.get("/api/v1/meetings/").json()["count"] == 3
    assert client.get(f"/api/v1/visits/{world.other_visit.pk}/").status_code == 200
