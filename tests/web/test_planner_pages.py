"""The planner pages as the server renders them (no browser): who may open them, what they carry."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.factories import UserFactory
from visits import booking
from web.planner import planner_days

from .conftest import request_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(db):
    return UserFactory(username="coord", is_staff=True)


def _config(body: str) -> dict:
    match = re.search(r'<script id="planner-config" type="application/json">(.*?)</script>', body, re.S)
    assert match, "the planner's settings are a JSON data block"
    return json.loads(match.group(1))


def test_the_visit_planner_carries_rooms_people_and_versions_and_no_inline_code(client, coordinator, confirmed_visit):
    client.force_login(coordinator)
    body = client.get(f"/staff/visits/{confirmed_visit.pk}/").content.decode()
    config = _config(body)
    assert config["visit"] == confirmed_visit.pk and config["editable"] is True
    assert [r["name"] for r in config["rooms"]] == ["Board room", "Lab 1"]
    groups = {p["name"]: p["group"] for p in config["people"]}
    assert groups["Jens Berg"] == "delegation" and groups["Dr. Anna Schmidt"] == "hosts"
    assert config["urls"]["proposals"] == f"/api/v1/visits/{confirmed_visit.pk}/proposals/"
    # a strict CSP: no inline script (only JSON data blocks), no style or on* attributes
    assert not re.search(r"<script(?![^>]*(type=\"application/json\"|src=))", body)
    assert ' style="' not in body and not re.search(r"\son[a-z]+=", body)
    versions = re.findall(r'data-version="([^"]+)"', body)
    assert len(versions) == 3 and all(re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", v) for v in versions)


def test_a_host_gets_the_read_only_timeline_without_the_planner(client, confirmed_visit):
    client.force_login(confirmed_visit.anna.user)
    body = client.get(f"/staff/visits/{confirmed_visit.pk}/").content.decode()
    assert body.count('data-testid="timeline-block"') == 3
    assert "planner-config" not in body and '<button type="button" id="block-' not in body


@pytest.mark.parametrize("kind", ["rooms", "people"])
def test_day_pages_are_for_coordinators_and_need_a_real_date(client, coordinator, confirmed_visit, kind):
    pk = confirmed_visit.anna.pk if kind == "people" else confirmed_visit.programme.first().meeting.room_id
    url = f"/staff/{kind}/{pk}/day/{confirmed_visit.day.isoformat()}/"
    client.force_login(confirmed_visit.anna.user)
    assert client.get(url).status_code == 404
    client.force_login(coordinator)
    response = client.get(url)
    assert response.status_code == 200 and _config(response.content.decode())["visit"] is None
    assert client.get(f"/staff/{kind}/{pk}/day/2026-02-30/").status_code == 404
    assert client.get(f"/staff/{kind}/999999/day/2026-02-03/").status_code == 404


def test_before_confirmation_the_planner_offers_the_first_preferred_window(db):
    visit = request_visit()
    window = visit.preferred_windows.first()
    days = planner_days(visit)
    assert days[0] == window.start and days[-1] == window.end


def _add_meetings(visit, n: int) -> None:
    from datetime import timedelta

    from events.models import Room
    from tests.factories import RoomFactory

    from .conftest import local

    rooms = list(Room.objects.all()) + [RoomFactory(name=f"Extra {i}") for i in range(2)]
    for i in range(n):
        start = local(visit.day, 13) + timedelta(minutes=30 * (i // len(rooms)))
        booking.meeting_create(visit=visit, title=f"Slot {i}", starts_at=start,
                                                ends_at=start + timedelta(minutes=30), room=rooms[i % len(rooms)])


def test_the_planner_page_costs_the_same_queries_for_3_or_30_meetings(client, coordinator, confirmed_visit):
    """Rooms, people and the programme are each one query (plus prefetches), not one per meeting."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(coordinator)
    url = f"/staff/visits/{confirmed_visit.pk}/"
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _add_meetings(confirmed_visit, 27)
    with CaptureQueriesContext(connection) as large:
        started = time.perf_counter()
        body = client.get(url).content.decode()
        elapsed = time.perf_counter() - started
    assert body.count('data-testid="timeline-block"') == 30
    print(f"planner page: {len(small)} queries for 3 meetings, {len(large)} for 30 ({elapsed * 1000:.0f} ms, printed only)")
    assert len(large) == len(small)
