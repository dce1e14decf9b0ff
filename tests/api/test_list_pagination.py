"""Keyset ("cursor") pages of the API lists: every row once, whatever the ties, inserts and direction,
the old ``?page=N`` still answered, and the fast meeting list equal to the per-row serializer."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api import serializers as s
from events.models import AgendaItem, Meeting, Participation
from events.selectors import meeting_list
from tests.factories import MeetingFactory, OrganisationFactory, PersonFactory, VisitFactory
from visits.models import ProgrammeSlot

pytestmark = pytest.mark.django_db

BASE = timezone.now().replace(microsecond=0) + timedelta(days=40)


def _meetings(n: int, *, same_start_every: int = 3, title=lambda i: f"Meeting {i % 4}") -> list[Meeting]:
    """``n`` meetings where every ``same_start_every`` share a start time (ties on the sort key)."""
    return [MeetingFactory(title=title(i), starts_at=BASE + timedelta(hours=i // same_start_every),
                           ends_at=BASE + timedelta(hours=i // same_start_every, minutes=30)) for i in range(n)]


def _walk(client, url: str, *, direction: str = "next") -> tuple[list[int], list[dict]]:
    ids, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        pages.append(body)
        ids.extend(row["id"] for row in body["results"])
        url = body[direction]
    return ids, pages


def _all_ids(**order) -> list[int]:
    return list(Meeting.objects.order_by(*order.get("by", ("starts_at", "id"))).values_list("pk", flat=True))


def test_pages_cover_every_row_once_across_equal_sort_keys(world, coordinator_client):
    _meetings(23, same_start_every=4)
    ids, pages = _walk(coordinator_client, "/api/v1/meetings/?page_size=5")
    assert ids == _all_ids()  # in order, no duplicate, no gap (the world's meetings included)
    assert len(pages) == -(-len(ids) // 5)
    assert all("cursor=" in p["next"] for p in pages[:-1]) and pages[-1]["next"] is None
    assert pages[0]["previous"] is None and all(p["previous"] for p in pages[1:])
    assert {p["count"] for p in pages} == {len(ids)}  # counted once, carried by the cursor


@pytest.mark.parametrize("ordering", ["title", "-title", "-starts_at", "ends_at,-title", "-updated_at"])
def test_every_ordering_pages_without_duplicates_or_gaps(world, coordinator_client, ordering):
    _meetings(17, same_start_every=5)  # four titles only: long runs of equal keys
    ids, _pages = _walk(coordinator_client, f"/api/v1/meetings/?page_size=4&ordering={ordering}")
    terms = ordering.split(",")
    tie = "-id" if terms[-1].startswith("-") else "id"
    assert ids == _all_ids(by=(*terms, tie))


def test_previous_links_walk_back_over_the_same_pages(world, coordinator_client):
    _meetings(14, same_start_every=3)
    forward, pages = _walk(coordinator_client, "/api/v1/meetings/?page_size=4")
    backward, back_pages = _walk(coordinator_client, pages[-1]["previous"], direction="previous")
    assert backward == [pk for page in reversed(pages[:-1]) for pk in (r["id"] for r in page["results"])]
    assert [r["id"] for r in back_pages[-1]["results"]] == forward[:4]  # back on the first page
    assert back_pages[-1]["previous"] is None


def test_pages_are_stable_under_inserts(world, coordinator_client):
    """Rows inserted before the position (and at the position's very sort key) never shift later pages."""
    _meetings(12, same_start_every=3)
    first = coordinator_client.get("/api/v1/meetings/?page_size=5").json()
    seen = [r["id"] for r in first["results"]]
    last = Meeting.objects.get(pk=seen[-1])
    # New rows: one before the page boundary, one at exactly the boundary's start time (a tie), one after.
    before = MeetingFactory(starts_at=BASE - timedelta(days=1), ends_at=BASE - timedelta(days=1) + timedelta(hours=1))
    tied = MeetingFactory(starts_at=last.starts_at, ends_at=last.ends_at)
    after = MeetingFactory(starts_at=BASE + timedelta(days=30), ends_at=BASE + timedelta(days=30, hours=1))
    rest, _pages = _walk(coordinator_client, first["next"])
    assert not set(seen) & set(rest)  # nothing repeated
    expected = [pk for pk in _all_ids() if pk not in seen and pk != before.pk]
    assert rest == expected and tied.pk in rest and after.pk in rest  # the tie sorts after (higher id)


def test_nullable_sort_fields_page_with_nulls_last(world, coordinator_client):
    """Visits by ``starts_on`` (NULL until confirmed): NULLs last in both directions, nothing lost."""
    for i in range(7):
        VisitFactory(starts_on=None if i % 2 else (BASE + timedelta(days=i)).date(),
                     ends_on=None if i % 2 else (BASE + timedelta(days=i)).date())
    for ordering in ("starts_on", "-starts_on"):
        ids, _ = _walk(coordinator_client, f"/api/v1/visits/?page_size=2&ordering={ordering}")
        from visits.models import Visit

        assert sorted(ids) == sorted(Visit.objects.values_list("pk", flat=True)) and len(ids) == len(set(ids))
        dates = list(Visit.objects.in_bulk(ids).values())
        by_id = {v.pk: v.starts_on for v in dates}
        ordered = [by_id[pk] for pk in ids]
        known = [d for d in ordered if d is not None]
        assert ordered[:len(known)] == known  # the NULLs all come last
        assert known == sorted(known, reverse=ordering.startswith("-"))


def test_old_page_numbers_still_work(world, coordinator_client):
    _meetings(9)
    body = coordinator_client.get("/api/v1/meetings/?page=2&page_size=4").json()
    assert [r["id"] for r in body["results"]] == _all_ids()[4:8]
    assert body["count"] == Meeting.objects.count()
    assert "page=3" in body["next"] and "page_size=4" in body["next"]


def test_a_later_page_costs_no_count(world, coordinator_client):
    _meetings(12)
    first = coordinator_client.get("/api/v1/meetings/?page_size=5").json()
    with CaptureQueriesContext(connection) as ctx:
        second = coordinator_client.get(first["next"])
    assert second.status_code == 200
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert second.json()["count"] == first["count"]


@pytest.mark.parametrize("cursor", ["not-base64!", "%C3%A9", base64.urlsafe_b64encode(b"[1,2]").decode(),
                                    base64.urlsafe_b64encode(json.dumps({"p": ["x", 1]}).encode()).decode(),
                                    base64.urlsafe_b64encode(json.dumps({"p": [1]}).encode()).decode(),
                                    base64.urlsafe_b64encode(json.dumps({"p": [{"a": 1}, 1]}).encode()).decode(),
                                    base64.urlsafe_b64encode(json.dumps({"p": ["2026-01-01T00:00:00Z", 1],
                                                                         "c": "many"}).encode()).decode()])
def test_a_bad_cursor_is_a_400_with_a_field_error(world, coordinator_client, cursor):
    response = coordinator_client.get(f"/api/v1/meetings/?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]


def test_a_host_pages_through_only_their_meetings(world):
    client = world.client("host")
    for i in range(6):
        m = MeetingFactory(starts_at=BASE + timedelta(hours=i), ends_at=BASE + timedelta(hours=i, minutes=30))
        if i % 2:
            Participation.objects.create(meeting=m, person=world.host_person, role="guest",
                                         starts_at=m.starts_at, ends_at=m.ends_at)
    ids, _ = _walk(client, "/api/v1/meetings/?page_size=2")
    mine = Meeting.objects.filter(participations__person=world.host_person).order_by("starts_at", "id")
    assert ids == list(mine.values_list("pk", flat=True))


def test_the_fast_meeting_list_equals_the_per_row_serializer(world, coordinator_client):
    """Same JSON as ``MeetingSerializer`` row by row: participants, agenda, visit, event, cancellations."""
    chair = PersonFactory(name="Zoe Chair", organisation=OrganisationFactory())
    for i, m in enumerate(_meetings(4)):
        Participation.objects.create(meeting=m, person=chair, role="chair", starts_at=m.starts_at, ends_at=m.ends_at,
                                     rsvp="accepted", responded_at=timezone.now() - timedelta(minutes=i))
        Participation.objects.create(meeting=m, person=PersonFactory(name="Anna Guest"), role="guest",
                                     starts_at=m.starts_at, ends_at=m.ends_at)
        AgendaItem.objects.create(meeting=m, position=1, title="Second", presenter=chair, notes="n")
        AgendaItem.objects.create(meeting=m, position=0, title="First", topic=world.topic, minutes=5)
        if i == 1:
            ProgrammeSlot.objects.create(visit=world.visit, meeting=m)
        if i == 2:
            Meeting.objects.filter(pk=m.pk).update(status=Meeting.Status.CANCELLED, cancelled_at=timezone.now())
    listed = coordinator_client.get("/api/v1/meetings/?page_size=200").json()["results"]
    rows = {m.pk: m for m in meeting_list().select_related("programme_slot")}
    context = {"programme_check": False}
    expected = [s.MeetingSerializer(rows[item["id"]], context=context).data for item in listed]
    assert listed == json.loads(json.dumps(expected, default=str))
    assert any(item["visit"] for item in listed) and any(item["cancelled_at"] for item in listed)


def test_the_meeting_list_costs_a_constant_number_of_queries(world, coordinator_client):
    _meetings(5)
    with CaptureQueriesContext(connection) as few:
        coordinator_client.get("/api/v1/meetings/?page_size=200")
    _meetings(30)
    with CaptureQueriesContext(connection) as many:
        coordinator_client.get("/api/v1/meetings/?page_size=200")
    assert len(many.captured_queries) == len(few.captured_queries)
