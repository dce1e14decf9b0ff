"""Real concurrent bookings on PostgreSQL: separate threads, separate connections, one winner.

The services' overlap query cannot see another transaction's uncommitted meeting; the exclusion
constraint can. The first test forces exactly that interleaving (both pre-checks pass before either
insert), so only the database can keep the room single-booked.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone as djtz

from events import selectors, services
from events.errors import ScheduleConflict
from events.models import Meeting, Participation
from events.services import ParticipantSpec
from tests.domain.conftest import berlin
from tests.factories import PersonFactory, RoomFactory
from visits import services as visit_services

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 20


def run_in_threads(calls):
    """Run each call in its own thread (own DB connection); return (results, errors) in call order."""
    results, errors = [None] * len(calls), [None] * len(calls)
    start = threading.Barrier(len(calls), timeout=TIMEOUT)

    def worker(i, call):
        try:
            start.wait()
            results[i] = call()
        except Exception as exc:  # collected and asserted on by the test
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results, errors


@pytest.fixture
def both_prechecks_pass_first(monkeypatch):
    """Hold each thread after its first overlap query until every thread has made one."""
    real = selectors.meeting_conflicts
    gate = threading.Barrier(2, timeout=TIMEOUT)
    seen = threading.local()

    def gated(**kwargs):
        found = real(**kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            gate.wait()
        return found

    monkeypatch.setattr(selectors, "meeting_conflicts", gated)


def book(title, room, participants=()):
    return lambda: services.meeting_create(
        title=title, starts_at=berlin(2030, 6, 3, 10), ends_at=berlin(2030, 6, 3, 11), room=room,
        participants=list(participants),
    )


def assert_one_winner(results, errors):
    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1, errors
    assert losers and all(isinstance(e, ScheduleConflict) for e in losers), losers
    return winners[0], losers


def test_two_bookings_of_one_room_racing_past_the_precheck(on_postgres, both_prechecks_pass_first):
    room = RoomFactory()

    results, errors = run_in_threads([book("Alpha", room), book("Beta", room)])

    winner, (loser,) = assert_one_winner(results, errors)
    # The database refused the loser (the pre-check could not), then the re-check named the winner.
    assert isinstance(loser.__context__, IntegrityError)
    assert "meeting_room_no_overlap" in str(loser.__context__)
    assert [c["id"] for c in loser.conflicts] == [winner.pk]
    assert Meeting.objects.filter(room=room, status=Meeting.Status.SCHEDULED).count() == 1


def test_one_host_booked_twice_at_once_in_different_rooms(on_postgres, both_prechecks_pass_first):
    host = PersonFactory()
    spec = [ParticipantSpec(host, Participation.Role.HOST)]

    results, errors = run_in_threads([book("Alpha", RoomFactory(), spec), book("Beta", RoomFactory(), spec)])

    winner, (loser,) = assert_one_winner(results, errors)
    assert "participation_person_no_overlap" in str(loser.__context__)
    assert [c["id"] for c in loser.conflicts] == [winner.pk]
    assert Participation.objects.filter(person=host, blocks_time=True).count() == 1
    # The losing transaction left nothing behind, not even its meeting row.
    assert Meeting.objects.count() == 1


def test_many_simultaneous_bookings_of_one_room(on_postgres):
    room = RoomFactory()

    results, errors = run_in_threads([book(f"Booking {i}", room) for i in range(4)])

    assert_one_winner(results, errors)
    assert Meeting.objects.filter(room=room).count() == 1


def test_simultaneous_requests_get_distinct_sequential_references(on_postgres):
    start = djtz.localdate() + timedelta(days=10)

    def submit(n):
        return lambda: visit_services.visit_request_submit(data=visit_services.VisitRequestInput(
            organisation_name=f"Agency {n}", contact_name=f"Contact {n}", contact_email=f"c{n}@agency.example.org",
            delegation_name=f"Delegation {n}", delegation_size=2, preferred_windows=[(start, start)],
        ))

    results, errors = run_in_threads([submit(n) for n in range(4)])

    assert errors == [None] * 4
    year = djtz.localdate().year
    assert sorted(v.reference for v in results) == [f"VIS-{year}-{n:04d}" for n in range(1, 5)]
