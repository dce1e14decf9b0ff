"""Real concurrent bookings on PostgreSQL: separate threads, separate connections, one winner.

The services' overlap query cannot see another transaction's uncommitted meeting; the exclusion
constraint can. The first test forces exactly that interleaving (both pre-checks pass before either
insert), so only the database can keep the room single-booked.
"""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection

from events import selectors, services
from events.errors import ScheduleConflict
from events.models import Meeting, Participation
from events.services import ParticipantSpec
from tests.domain.conftest import berlin
from tests.factories import PersonFactory, RoomFactory

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
