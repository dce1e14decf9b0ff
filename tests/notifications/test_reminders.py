"""Reminder time rules, with the clock under test control: DST, late booking, reschedule, cancel, opt-out."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from directory.services import person_set_reminders_opt_out
from events import services as event_services
from notifications.models import Kind, OutboxMessage
from visits import booking
from visits import services as visit_services

from .conftest import berlin, calendar_part, subject, text_part, to_addr

pytestmark = pytest.mark.django_db


def reminders(sent):
    return [m for m in sent if m["X-Visitdesk-Key"].startswith("reminder:")]


def test_one_day_before_keeps_the_local_time_across_the_spring_dst_switch(standalone, send, host, guest):
    with time_machine.travel(berlin(2026, 3, 20, 9, 0), tick=False) as clock:
        standalone(start=berlin(2026, 3, 29, 10, 0))  # Sunday; clocks went forward at 02:00
        send()
        day = OutboxMessage.objects.get(kind=Kind.REMINDER, person=host, offset_minutes=1440)
        hour = OutboxMessage.objects.get(kind=Kind.REMINDER, person=host, offset_minutes=60)
        assert day.due_at == berlin(2026, 3, 28, 10, 0)  # 09:00 UTC, not 24 h earlier (08:00 UTC)
        assert hour.due_at == berlin(2026, 3, 29, 9, 0)
        assert not OutboxMessage.objects.filter(kind=Kind.REMINDER, person=guest).exists()  # guests: invites only
        clock.move_to(berlin(2026, 3, 28, 9, 59))
        assert reminders(send()) == []
        clock.move_to(berlin(2026, 3, 28, 10, 0, 30))
        sent = reminders(send())
        assert [to_addr(m) for m in sent] == [host.email]
        assert subject(sent[0]).startswith("Reminder:")
        assert "10:00–11:00 (Europe/Berlin)" in text_part(sent[0])
        assert reminders(send()) == []


def test_one_day_before_keeps_the_local_time_across_the_autumn_dst_switch(standalone, send, host):
    with time_machine.travel(berlin(2026, 10, 20, 9, 0), tick=False):
        standalone(start=berlin(2026, 10, 25, 10, 0))
        send()
        day = OutboxMessage.objects.get(kind=Kind.REMINDER, person=host, offset_minutes=1440)
        assert day.due_at == berlin(2026, 10, 24, 10, 0)  # 08:00 UTC (CEST) for a 09:00 UTC (CET) meeting


def test_a_reminder_whose_moment_passed_before_the_booking_is_never_sent(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 4, 9, 30), tick=False) as clock:
        standalone(start=berlin(2026, 5, 4, 10, 0))  # booked 30 min ahead: both moments have passed
        send()
        assert not OutboxMessage.objects.filter(kind=Kind.REMINDER).exists()
        clock.move_to(berlin(2026, 5, 4, 9, 59))
        assert reminders(send()) == []


def test_a_booking_two_hours_ahead_gets_only_the_one_hour_reminder_on_time(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 4, 8, 0), tick=False) as clock:
        standalone(start=berlin(2026, 5, 4, 10, 0))
        assert reminders(send()) == []
        clock.move_to(berlin(2026, 5, 4, 8, 59))
        assert reminders(send()) == []
        clock.move_to(berlin(2026, 5, 4, 9, 0, 10))
        sent = reminders(send())
        assert len(sent) == 1
        assert OutboxMessage.objects.get(kind=Kind.REMINDER).offset_minutes == 60


def test_rescheduling_moves_pending_reminders_and_a_later_move_owes_a_new_one(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 1, 8, 0), tick=False) as clock:
        meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
        send()
        meeting = event_services.meeting_reschedule(
            meeting=meeting, starts_at=berlin(2026, 5, 5, 14, 0), ends_at=berlin(2026, 5, 5, 15, 0)
        )
        send()
        pending = OutboxMessage.objects.filter(kind=Kind.REMINDER, state="pending")
        assert sorted(r.due_at for r in pending) == [berlin(2026, 5, 4, 14, 0), berlin(2026, 5, 5, 13, 0)]
        clock.move_to(berlin(2026, 5, 3, 10, 1))  # the old moment
        assert reminders(send()) == []
        clock.move_to(berlin(2026, 5, 4, 14, 0, 5))
        sent = reminders(send())
        assert len(sent) == 1 and "14:00–15:00" in text_part(sent[0])
        # The day-before reminder went out; the meeting moves a week: a new one is owed for the new date.
        meeting = event_services.meeting_reschedule(
            meeting=meeting, starts_at=berlin(2026, 5, 12, 14, 0), ends_at=berlin(2026, 5, 12, 15, 0)
        )
        send()
        clock.move_to(berlin(2026, 5, 5, 13, 0, 5))
        assert reminders(send()) == []  # the one-hour reminder moved with the meeting
        clock.move_to(berlin(2026, 5, 11, 14, 0, 5))
        assert len(reminders(send())) == 1
        clock.move_to(berlin(2026, 5, 12, 13, 0, 5))
        assert len(reminders(send())) == 1
    assert OutboxMessage.objects.filter(kind=Kind.REMINDER, state="sent").count() == 3


def test_a_cancelled_meeting_sends_no_reminders(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 1, 8, 0), tick=False) as clock:
        meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
        send()
        event_services.meeting_cancel(meeting=meeting)
        sent = send()
        assert [calendar_part(m)[1] for m in sent] == ["CANCEL", "CANCEL"]
        assert not OutboxMessage.objects.filter(kind=Kind.REMINDER, state="pending").exists()
        for moment in (berlin(2026, 5, 3, 10, 0, 5), berlin(2026, 5, 4, 9, 0, 5)):
            clock.move_to(moment)
            assert reminders(send()) == []


def test_an_opted_out_person_gets_no_reminders_but_still_invites_and_cancellations(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 1, 8, 0), tick=False) as clock:
        person_set_reminders_opt_out(person=host, opt_out=True)
        meeting = standalone(start=berlin(2026, 5, 4, 10, 0))
        assert host.email in [to_addr(m) for m in send()]  # the invite
        assert not OutboxMessage.objects.filter(kind=Kind.REMINDER, person=host).exists()
        clock.move_to(berlin(2026, 5, 3, 10, 0, 5))
        assert reminders(send()) == []
        event_services.meeting_cancel(meeting=meeting)
        assert host.email in [to_addr(m) for m in send()]  # the cancellation


def test_opting_out_cancels_pending_reminders_and_opting_in_restores_them(standalone, send, host):
    with time_machine.travel(berlin(2026, 5, 1, 8, 0), tick=False) as clock:
        standalone(start=berlin(2026, 5, 4, 10, 0))
        send()
        person_set_reminders_opt_out(person=host, opt_out=True)
        send()
        assert set(OutboxMessage.objects.filter(kind=Kind.REMINDER).values_list("state", flat=True)) == {"cancelled"}
        person_set_reminders_opt_out(person=host, opt_out=False)
        send()
        clock.move_to(berlin(2026, 5, 3, 10, 0, 5))
        assert len(reminders(send())) == 1


def test_the_delegation_is_reminded_a_week_and_a_day_before_the_visit(requested_visit, send, host):
    with time_machine.travel(berlin(2026, 6, 1, 8, 0), tick=False) as clock:
        visit = requested_visit(first_day=date(2026, 6, 10))
        meeting_start = berlin(2026, 6, 10, 9, 30)
        booking.meeting_create(
            visit=visit, title="Welcome", starts_at=meeting_start, ends_at=meeting_start + timedelta(hours=1),
            participants=[event_services.ParticipantSpec(host, "host")],
        )
        visit_services.visit_confirm(visit=visit)
        send()
        rows = OutboxMessage.objects.filter(kind=Kind.VISIT_REMINDER)
        assert sorted((r.person.email, r.due_at) for r in rows) == sorted(
            [(email, due) for email in ("anna@lsn.example.org", "mika@lsn.example.org")
             for due in (berlin(2026, 6, 3, 9, 30), berlin(2026, 6, 9, 9, 30))]
        )
        clock.move_to(berlin(2026, 6, 3, 9, 30, 5))
        sent = reminders(send())
        assert sorted(to_addr(m) for m in sent) == ["anna@lsn.example.org", "mika@lsn.example.org"]
        body = text_part(sent[0])
        assert visit.reference in body and "webcal://" in body and "/n/reminders/" in body
        assert sent[0]["List-Unsubscribe"]


def test_an_opted_out_delegation_member_is_not_reminded_of_the_visit(requested_visit, send, host):
    from directory.models import Person

    with time_machine.travel(berlin(2026, 6, 1, 8, 0), tick=False):
        visit = requested_visit(first_day=date(2026, 6, 10))
        person_set_reminders_opt_out(person=Person.objects.get(email="mika@lsn.example.org"), opt_out=True)
        start = berlin(2026, 6, 10, 9, 30)
        booking.meeting_create(
            visit=visit, title="Welcome", starts_at=start, ends_at=start + timedelta(hours=1),
            participants=[event_services.ParticipantSpec(host, "host")],
        )
        visit_services.visit_confirm(visit=visit)
        send()
        people = set(OutboxMessage.objects.filter(kind=Kind.VISIT_REMINDER).values_list("person__email", flat=True))
        assert people == {"anna@lsn.example.org"}
