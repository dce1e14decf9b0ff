"""Two overlapping inserts at the same instant can deadlock on the exclusion constraint
(each waits for the other's uncommitted row); the loser must retry once and end as a
ScheduleConflict or a success, never as a raw database error. The timing is too narrow to force
with real transactions every run, so the database error is injected here; the real races are in
test_booking_race.py and tests/api/test_race.py.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from events import services
from tests.domain.conftest import berlin
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


class _Deadlock(Exception):
    sqlstate = "40P01"


class _Other(Exception):
    sqlstate = "57014"  # query_canceled


def _failing_once(cause):
    calls = {"n": 0}
    real = services._sync_participations

    def flaky(meeting):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("deadlock detected") from cause
        return real(meeting)

    return flaky, calls


def test_a_deadlocked_write_is_retried_once_and_succeeds(monkeypatch):
    room = RoomFactory()
    meeting = services.meeting_create(
        title="Board", starts_at=berlin(2030, 6, 3, 10), ends_at=berlin(2030, 6, 3, 11), room=room
    )
    flaky, calls = _failing_once(_Deadlock())
    monkeypatch.setattr(services, "_sync_participations", flaky)
    moved = services.meeting_reschedule(meeting=meeting, starts_at=berlin(2030, 6, 3, 12), ends_at=berlin(2030, 6, 3, 13))
    assert calls["n"] == 2
    moved.refresh_from_db()
    assert moved.starts_at == berlin(2030, 6, 3, 12) and moved.sequence == 1


def test_other_database_errors_are_not_retried(monkeypatch):
    room = RoomFactory()
    meeting = services.meeting_create(
        title="Board", starts_at=berlin(2030, 6, 3, 10), ends_at=berlin(2030, 6, 3, 11), room=room
    )
    flaky, calls = _failing_once(_Other())
    monkeypatch.setattr(services, "_sync_participations", flaky)
    with pytest.raises(OperationalError):
        services.meeting_reschedule(meeting=meeting, starts_at=berlin(2030, 6, 3, 12), ends_at=berlin(2030, 6, 3, 13))
    assert calls["n"] == 1
