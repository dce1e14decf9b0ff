"""Invites, updates and cancellations are reconciled from the schedule, told once, and coalesce."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events import services as event_services
from notifications.models import InviteState, Kind, OutboxMessage
from tests.factories import PersonFactory, RoomFactory
from tests.support.ical_checks import assert_valid_ical
from visits import booking
from visits import services as visit_services

from .conftest import calendar_part, rows, subject, text_part, to_addr

pytestmark = pytest.mark.django_db


def test_it_invites_every_participant_of_a_standalone_meeting_once(standalone, send, host, guest):
    meeting = standalone()
    sent = send()
    assert sorted(to_addr(m) for m in sent) == sorted([guest.email, host.email])
    for msg in sent:
        data, method = calendar_part(msg)
        assert method == "REQUEST"
        cal = assert_valid_ical(data, method="REQUEST")
        event = cal.walk("VEVENT")[0]
        assert str(event["UID"]) == meeting.uid
        assert int(event["SEQUENCE"]) == meeting.sequence
    assert send() == []  # nothing differs any more
    assert InviteState.objects.filter(meeting=meeting, method="REQUEST", sequence=meeting.sequence).count() == 2


def test_a_programme_meeting_is_announced_only_once_the_visit_is_confirmed(requested_visit, host, send):
    visit = requested_visit()
    start = timezone.now() + timedelta(days=20)
    meeting = booking.meeting_create(
        visit=visit, title="Lab tour", starts_at=start, ends_at=start + timedelta(hours=1),
        participants=[event_services.ParticipantSpec(host, "host")],
    )
    sent = send()
    assert {m["X-Visitdesk-Key"].split(":")[0] for m in sent} <= {"visit"}  # only the acknowledgement
    assert not rows(kind=Kind.INVITE)
    visit_services.visit_confirm(visit=visit)
    sent = send()
    invites = [m for m in sent if m["X-Visitdesk-Key"].startswith("imip:")]
    assert [to_addr(m) for m in invites] == [host.email]
    assert calendar_part(invites[0])[1] == "REQUEST"
    assert InviteState.objects.get(meeting=meeting, person=host).method == "REQUEST"


def test_a_move_sends_one_update_with_the_same_uid_a_higher_sequence_and_what_changed(standalone, send, host):
    meeting = standalone()
    send()
    new_room = RoomFactory(name="Room C", venue=meeting.room.venue)
    event_services.meeting_update(
        meeting=meeting, starts_at=meeting.starts_at + timedelta(hours=1), ends_at=meeting.ends_at + timedelta(hours=1),
        room=new_room,
    )
    sent = send()
    assert len(sent) == 2
    msg = next(m for m in sent if to_addr(m) == host.email)
    assert subject(msg).startswith("Updated:")
    data, method = calendar_part(msg)
    assert method == "REQUEST"
    event = assert_valid_ical(data, method="REQUEST").walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid
    assert int(event["SEQUENCE"]) == 1
    body = text_part(msg)
    assert "moved from 10:00–11:00 to 11:00–12:00" in body
    assert "Room B" in body and "→" in body and "Room C" in body


def test_several_edits_within_the_settle_time_make_one_update(standalone, send, settings, host, guest):
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        meeting = standalone()
        assert send() == []  # owed, but waits for the settle time
        clock.shift(61)
        assert len(send()) == 2
        for minutes in (15, 30, 45):
            meeting = event_services.meeting_reschedule(
                meeting=meeting, starts_at=meeting.starts_at + timedelta(minutes=minutes),
                ends_at=meeting.ends_at + timedelta(minutes=minutes),
            )
            clock.shift(10)
            assert send() == []
        clock.shift(61)
        sent = send()
        assert len(sent) == 2
        meeting.refresh_from_db()
        assert meeting.sequence == 3
        for msg in sent:
            event = assert_valid_ical(calendar_part(msg)[0], method="REQUEST").walk("VEVENT")[0]
            assert int(event["SEQUENCE"]) == 3
            assert "moved from 10:00–11:00 to 11:30–12:30" in text_part(msg)
        assert send() == []
    assert OutboxMessage.objects.filter(kind=Kind.UPDATE, state="sent").count() == 2


def test_removing_a_participant_cancels_only_for_them(standalone, send, host, guest):
    meeting = standalone()
    send()
    event_services.participant_remove(meeting=meeting, person=guest)
    sent = send()
    assert [to_addr(m) for m in sent] == [guest.email]
    data, method = calendar_part(sent[0])
    assert method == "CANCEL"
    cal = assert_valid_ical(data, method="CANCEL")
    assert str(cal.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert InviteState.objects.get(person=guest, meeting=meeting).method == "CANCEL"


def test_a_participant_removed_before_being_told_hears_nothing(standalone, send, settings, guest):
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        meeting = standalone()
        send()
        event_services.participant_remove(meeting=meeting, person=guest)
        clock.shift(61)
        sent = send()
    assert guest.email not in [to_addr(m) for m in sent]
    assert OutboxMessage.objects.get(person=guest, kind=Kind.INVITE).state == "cancelled"


def test_a_cancelled_meeting_sends_cancel_to_those_told_and_no_reminders(standalone, send, host, guest):
    meeting = standalone()
    send()
    late = PersonFactory(email="late@example.org")
    event_services.participant_add(meeting=meeting, person=late)
    event_services.meeting_cancel(meeting=meeting)
    sent = send()
    assert sorted(to_addr(m) for m in sent) == sorted([host.email, guest.email])
    assert all(calendar_part(m)[1] == "CANCEL" for m in sent)
    assert all(subject(m).startswith("Cancelled:") for m in sent)
    assert not OutboxMessage.objects.filter(kind=Kind.REMINDER, state="pending").exists()


def test_re_adding_after_a_cancel_invites_again(standalone, send, guest):
    meeting = standalone()
    send()
    event_services.participant_remove(meeting=meeting, person=guest)
    send()
    event_services.participant_add(meeting=meeting, person=guest)
    sent = send()
    assert [calendar_part(m)[1] for m in sent] == ["REQUEST"]


def test_invites_follow_the_recipients_language_and_time_zone(standalone, send, host):
    german = PersonFactory(email="de@example.org", language="de", timezone="America/New_York")
    standalone(people=[(host, "host"), (german, "guest")])
    msg = next(m for m in send() if to_addr(m) == german.email)
    assert subject(msg).startswith("Einladung:")
    body = text_part(msg)
    assert "10:00–11:00 (Europe/Berlin)" in body
    assert "America/New_York (Ihre Zeit)" in body
    assert "Zusagen: http" in body
