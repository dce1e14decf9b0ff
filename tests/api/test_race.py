"""A real race: 20 concurrent HTTP requests against a live server on PostgreSQL book the same slot.

Each request wants an interval that overlaps every other one (same room, or same host, with partial
overlaps of different lengths). Exactly one may win (201); the rest get 409 naming the winner; no
request may fail with a 5xx. Afterwards SQL confirms no two scheduled bookings overlap.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.api.conftest import next_week
from tests.api.live import call
from tests.factories import PersonFactory, RoomFactory

THREADS = 20


def _race(url: str, token: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(bodies))

    def one(body):
        barrier.wait(timeout=60)
        return call(url, "POST", body, token=token, timeout=120)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))


def _overlapping_bodies(base, **extra) -> list[dict]:
    # Request i starts i minutes early and ends 2*i minutes late: all contain [base, base+30min).
    return [
        {
            "title": f"Race {i}",
            "starts_at": (base - timedelta(minutes=i)).isoformat(),
            "ends_at": (base + timedelta(minutes=30 + 2 * i)).isoformat(),
            **extra,
        }
        for i in range(THREADS)
    ]


def _overlapping_rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM events_meeting a JOIN events_meeting b
               ON a.id < b.id AND a.room_id = b.room_id AND a.status = 'scheduled' AND b.status = 'scheduled'
               AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"""
        )
        rooms = cursor.fetchone()[0]
        cursor.execute(
            """SELECT count(*) FROM events_participation a JOIN events_participation b
               ON a.id < b.id AND a.person_id = b.person_id AND a.blocks_time AND b.blocks_time
               AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)"""
        )
        people = cursor.fetchone()[0]
    return {"rooms": rooms, "people": people}


def _summarise(results) -> dict[str, int]:
    codes = [code for code, _ in results]
    return {"201": codes.count(201), "409": codes.count(409), "5xx": sum(c >= 500 for c in codes),
            "other": sum(c not in (201, 409) and c < 500 for c in codes)}


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_room(on_postgres, live_server, world):
    token = Token.objects.get_or_create(user=world.coordinator)[0].key
    room = RoomFactory(name="Race room")
    results = _race(f"{live_server.url}/api/v1/meetings/", token,
                    _overlapping_bodies(next_week(10, days=12), room=room.pk))
    summary = _summarise(results)
    print("room race:", summary)
    assert summary == {"201": 1, "409": THREADS - 1, "5xx": 0, "other": 0}, results
    winner = next(body for code, body in results if code == 201)
    for code, body in results:
        if code == 409:
            assert body["error"]["code"] == "schedule_conflict"
            assert [c["id"] for c in body["error"]["conflicts"]] == [winner["id"]], body
    assert _overlapping_rows() == {"rooms": 0, "people": 0}


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_host(on_postgres, live_server, world):
    token = Token.objects.get_or_create(user=world.coordinator)[0].key
    host = PersonFactory(name="Busy Host")
    rooms = [RoomFactory(name=f"Host race {i}") for i in range(THREADS)]
    bodies = _overlapping_bodies(next_week(14, days=12), participants=[{"person": host.pk, "role": "host"}])
    for body, room in zip(bodies, rooms, strict=True):
        body["room"] = room.pk  # different rooms: only the host can collide
    results = _race(f"{live_server.url}/api/v1/meetings/", token, bodies)
    summary = _summarise(results)
    print("host race:", summary)
    assert summary == {"201": 1, "409": THREADS - 1, "5xx": 0, "other": 0}, results
    winner = next(body for code, body in results if code == 201)
    assert all(body["error"]["conflicts"][0]["id"] == winner["id"] for code, body in results if code == 409)
    assert _overlapping_rows() == {"rooms": 0, "people": 0}


@pytest.mark.django_db(transaction=True)
def test_concurrent_reschedules_into_one_slot(on_postgres, live_server, world):
    """Twenty meetings in twenty free slots all move into the same room slot at once: one wins."""
    from events import services as event_services

    token = Token.objects.get_or_create(user=world.coordinator)[0].key
    room = RoomFactory(name="Move room")
    base = next_week(8, days=13)
    meetings = [
        event_services.meeting_create(title=f"Mover {i}", room=room, starts_at=base + timedelta(hours=i + 2),
                                      ends_at=base + timedelta(hours=i + 2, minutes=30))
        for i in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)

    def move(pair):
        i, meeting = pair
        barrier.wait(timeout=60)
        return call(f"{live_server.url}/api/v1/meetings/{meeting.pk}/reschedule/", "POST", {
            "starts_at": (base - timedelta(minutes=i)).isoformat(),
            "ends_at": (base + timedelta(minutes=30 + i)).isoformat(),
        }, token=token, timeout=120)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(move, enumerate(meetings)))
    summary = _summarise(results)
    summary["200"] = summary.pop("other")
    print("reschedule race:", summary)
    assert summary == {"201": 0, "409": THREADS - 1, "5xx": 0, "200": 1}, results
    assert _overlapping_rows() == {"rooms": 0, "people": 0}
