"""Aware datetimes across the Europe/Berlin DST change: stored instants and durations stay right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import services
from events.models import Meeting, Participation
from events.services import ParticipantSpec
from tests.domain.conftest import BERLIN, berlin
from tests.factories import PersonFactory, RoomFactory

pytestmark = pytest.mark.django_db


def test_meeting_across_the_autumn_change_keeps_its_real_duration():
    # 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET, so 01:30–03:30 on the wall is 3 hours.
    starts, ends = berlin(2026, 10, 25, 1, 30), berlin(2026, 10, 25, 3, 30)
    assert starts.utcoffset() == timedelta(hours=2) and ends.utcoffset() == timedelta(hours=1)

    meeting = services.meeting_create(title="Night shift handover", starts_at=starts, ends_at=ends, room=RoomFactory(),
                                      participants=[ParticipantSpec(PersonFactory(), Participation.Role.HOST)])
    stored = Meeting.objects.get(pk=meeting.pk)

    assert stored.starts_at == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert stored.ends_at == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert stored.ends_at - stored.starts_at == timedelta(hours=3)
    assert stored.timezone == "Europe/Berlin"
    local_start, local_end = stored.starts_at.astimezone(BERLIN), stored.ends_at.astimezone(BERLIN)
    assert (local_start.hour, local_start.minute, local_start.tzname()) == (1, 30, "CEST")
    assert (local_end.hour, local_end.minute, local_end.tzname()) == (3, 30, "CET")
    participation = Participation.objects.get(meeting=meeting)
    assert (participation.starts_at, participation.ends_at) == (stored.starts_at, stored.ends_at)


def test_the_repeated_hour_is_two_different_instants():
    # 02:30 happens twice on 2026-10-25; fold=0 is CEST (00:30 UTC), fold=1 is CET (01:30 UTC).
    room = RoomFactory()
    first = services.meeting_create(title="First 02:30", room=room, starts_at=berlin(2026, 10, 25, 2, 30),
                                    ends_at=berlin(2026, 10, 25, 2, 45))
    second = services.meeting_create(title="Second 02:30", room=room,
                                     starts_at=datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN),
                                     ends_at=datetime(2026, 10, 25, 2, 45, fold=1, tzinfo=BERLIN))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second.starts_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_spring_change_shortens_the_wall_clock_night():
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 01:30–03:30 on the wall is one real hour.
    meeting = services.meeting_create(title="Spring", starts_at=berlin(2026, 3, 29, 1, 30),
                                      ends_at=berlin(2026, 3, 29, 3, 30), room=RoomFactory())
    meeting.refresh_from_db()
    assert meeting.ends_at - meeting.starts_at == timedelta(hours=1)


def test_rescheduling_by_a_day_across_the_change_keeps_local_time():
    meeting = services.meeting_create(title="Weekly", starts_at=berlin(2026, 10, 24, 10), ends_at=berlin(2026, 10, 24, 11),
                                      room=RoomFactory())
    # Move by one *local* day: same wall-clock time, 25 real hours later.
    services.meeting_reschedule(meeting=meeting, starts_at=berlin(2026, 10, 25, 10), ends_at=berlin(2026, 10, 25, 11))
    meeting.refresh_from_db()
    assert meeting.starts_at == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert meeting.starts_at.astimezone(BERLIN).hour == 10
