"""The dispatcher reconciles only what changed since its watermark, with a full pass as safety net."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db.models import F

from events import services as event_services
from events.models import Meeting
from notifications import reconcile
from notifications.models import Kind, OutboxMessage, ReconcileDirty, ReconcileMark

from .conftest import berlin

pytestmark = pytest.mark.django_db


def _reminders(meeting):
    return list(OutboxMessage.objects.filter(kind=Kind.REMINDER, meeting=meeting, state="pending")
                .order_by("offset_minutes").values_list("offset_minutes", "due_at"))


@pytest.fixture
def clock():
    with time_machine.travel(berlin(2026, 5, 1, 8, 0), tick=False) as traveller:
        yield traveller


def test_a_meeting_changed_since_the_watermark_gets_its_mails_and_the_rest_costs_nothing(clock, standalone, monkeypatch):
    moved, still = standalone(start=berlin(2026, 5, 4, 10, 0)), standalone(start=berlin(2026, 5, 5, 10, 0))
    clock.shift(timedelta(minutes=1))  # booked a while before the dispatcher's first pass
    first = reconcile.reconcile_changes()
    assert first["full"] == 1 and len(_reminders(moved)) == 2 and len(_reminders(still)) == 2

    clock.shift(timedelta(seconds=30))
    quiet = reconcile.reconcile_changes()
    assert quiet["full"] == 0 and quiet["changed_meetings"] == 0
    assert quiet["imip"] == quiet["reminders"] == quiet["workflow"] == quiet["programme"] == 0

    clock.shift(timedelta(seconds=30))
    event_services.meeting_reschedule(meeting=moved, starts_at=berlin(2026, 5, 4, 14, 0),
                                      ends_at=berlin(2026, 5, 4, 15, 0))
    asked: list[set[int]] = []
    real = reconcile.wanted_reminders
    monkeypatch.setattr(reconcile, "wanted_reminders",
                        lambda **kw: asked.append(set(kw["scope"].meetings)) or real(**kw))
    clock.shift(timedelta(seconds=30))
    stats = reconcile.reconcile_changes()
    assert stats["full"] == 0 and asked == [{moved.pk}]  # the unchanged meeting was not looked at
    assert stats["imip"] == 2  # the invitations to host and guest, at the new SEQUENCE
    assert _reminders(moved) == [(60, berlin(2026, 5, 4, 13, 0)), (1440, berlin(2026, 5, 3, 14, 0))]
    assert _reminders(still)[0] == (60, berlin(2026, 5, 5, 9, 0))


def test_a_crash_between_the_work_and_the_watermark_loses_nothing(clock, standalone, monkeypatch):
    meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
    reconcile.reconcile_changes()
    mark = ReconcileMark.objects.get()
    clock.shift(timedelta(minutes=1))
    event_services.meeting_reschedule(meeting=meeting, starts_at=berlin(2026, 5, 4, 14, 0),
                                      ends_at=berlin(2026, 5, 4, 15, 0))
    reconcile.mark_dirty(meeting_ids=[meeting.pk])

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    # Killed during the work: nothing was moved, the announcement stays.
    monkeypatch.setattr(reconcile, "reconcile_reminders", crash)
    clock.shift(timedelta(minutes=1))
    with pytest.raises(RuntimeError):
        reconcile.reconcile_changes()
    assert ReconcileMark.objects.get().changes_until == mark.changes_until
    assert ReconcileDirty.objects.filter(meeting_id=meeting.pk).exists()
    monkeypatch.undo()

    # Killed after the work, before the watermark moved: the next run does it again, once.
    monkeypatch.setattr(reconcile, "_advance", crash)
    with pytest.raises(RuntimeError):
        reconcile.reconcile_changes()
    assert ReconcileMark.objects.get().changes_until == mark.changes_until
    monkeypatch.undo()
    clock.shift(timedelta(minutes=1))
    stats = reconcile.reconcile_changes()
    assert stats["full"] == 0
    assert _reminders(meeting) == [(60, berlin(2026, 5, 4, 13, 0)), (1440, berlin(2026, 5, 3, 14, 0))]
    # One invitation owed per person at the new SEQUENCE, whichever run created it.
    assert OutboxMessage.objects.filter(kind=Kind.INVITE, meeting=meeting, state="pending").count() == 2
    assert ReconcileMark.objects.get().changes_until == berlin(2026, 5, 1, 8, 3)
    assert not ReconcileDirty.objects.exists()


def test_a_change_stamped_before_the_watermark_is_found_by_its_announcement(clock, standalone):
    """A long transaction stamps its rows when it writes them and commits later, after a dispatcher
    moved the watermark past that stamp: ``schedule_changed`` (after commit) names the meeting."""
    meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
    clock.shift(timedelta(minutes=1))
    reconcile.reconcile_changes()
    clock.shift(timedelta(minutes=2))
    event_services.meeting_reschedule(meeting=meeting, starts_at=berlin(2026, 5, 4, 14, 0),
                                      ends_at=berlin(2026, 5, 4, 15, 0))
    Meeting.objects.filter(pk=meeting.pk).update(updated_at=F("updated_at") - timedelta(minutes=3))
    reconcile.reconcile_changes()
    assert _reminders(meeting)[0] == (60, berlin(2026, 5, 4, 9, 0))  # not seen: stamped before the mark
    clock.shift(timedelta(seconds=10))
    reconcile.mark_dirty(meeting_ids=[meeting.pk])  # what the receiver of schedule_changed does
    assert reconcile.reconcile_changes()["full"] == 0
    assert _reminders(meeting)[0] == (60, berlin(2026, 5, 4, 13, 0))


def test_a_full_pass_runs_every_few_minutes_as_a_safety_net(clock, standalone):
    meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
    clock.shift(timedelta(minutes=1))
    reconcile.reconcile_changes()
    OutboxMessage.objects.filter(kind=Kind.REMINDER).delete()  # lost without any change to find
    clock.shift(timedelta(minutes=1))
    assert reconcile.reconcile_changes()["full"] == 0 and _reminders(meeting) == []
    clock.shift(reconcile.FULL_EVERY)
    assert reconcile.reconcile_changes()["full"] == 1 and len(_reminders(meeting)) == 2
