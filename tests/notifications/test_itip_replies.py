"""Answers from calendar clients (iTIP REPLY and COUNTER by mail) change exactly what they should.

Every message is a client's real shape (``itip_fixtures``); the invite went out first, so
``InviteState`` knows the SEQUENCE each person was told.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.conf import settings
from django.utils import timezone

from events.models import Participation
from notifications import replies
from notifications.itip_in import NotACalendar, address, parse_itip, read_mail
from notifications.models import CounterProposal, HeldAnswer, InboundMessage, Kind, OutboxMessage
from tests.factories import PersonFactory, UserFactory
from tests.support.ical_checks import assert_valid_ical
from visits import booking

from .conftest import calendar_part, text_part
from .itip_fixtures import ANSWER, CLIENTS, client_reply

pytestmark = pytest.mark.django_db
Outcome = InboundMessage.Outcome


@pytest.fixture
def meeting(send):
    people = [
        PersonFactory(name="Jürgen Weber", email="j.weber@partner.example.org", language="de"),
        PersonFactory(name="Lena Holm", email="lena.holm@gmail.example.com"),
        PersonFactory(name="Søren Ødegård", email="soren@icloud.example.com"),
        PersonFactory(name="Ana Martínez", email="ana@thunderbird.example.net"),
    ]
    start = (timezone.now() + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    created = booking.meeting_create(
        title="GMP manufacturing", starts_at=start, ends_at=start + timedelta(hours=1), timezone="Europe/Berlin",
        location="Board room",
        participants=[booking.ParticipantSpec(person=people[0], role=Participation.Role.HOST),
                      *(booking.ParticipantSpec(person=p, role=Participation.Role.GUEST) for p in people[1:])],
    )
    send()  # the invites: InviteState now says everyone was told SEQUENCE 0
    created.people = people
    return created


def rsvp(meeting, person) -> str:
    return Participation.objects.get(meeting=meeting, person=person).rsvp


def take(raw: bytes) -> InboundMessage:
    record, new = replies.message_take(raw=raw)
    assert new
    return record


# --- each client's shape ---------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_each_clients_reply_records_the_answer_through_booking(meeting, client):
    person = meeting.people[CLIENTS.index(client)]
    record = take(client_reply(client, meeting, attendee=person.email, other=meeting.people[0].email))
    assert record.outcome == Outcome.APPLIED, record.detail
    assert rsvp(meeting, person) == ANSWER[client]
    others = [p for p in meeting.people if p != person]
    assert all(rsvp(meeting, p) == "needs-action" for p in others), "only the sender's own answer counts"


def test_outlook_capital_mailto_changed_cn_windows_1252_and_x_microsoft_props(meeting):
    raw = client_reply("outlook_accept.eml", meeting, attendee=meeting.people[0].email)
    assert b"MAILTO:J.WEBER@PARTNER.EXAMPLE.ORG" in raw.replace(b"=\r\n", b"")
    mail = read_mail(raw)
    assert mail.sender == "j.weber@partner.example.org"
    itip = parse_itip(mail.calendars[0])
    assert itip.events[0].attendees[0].name == "Weber, Jürgen"  # decoded from Windows-1252
    assert take(raw).outcome == Outcome.APPLIED
    assert rsvp(meeting, meeting.people[0]) == "accepted"


def test_gmail_sends_the_calendar_twice_and_it_counts_once(meeting):
    mail = read_mail(client_reply("gmail_decline.eml", meeting, attendee=meeting.people[1].email))
    assert len(mail.calendars) == 1


def test_apple_reply_carrying_other_attendees_changes_only_the_sender(meeting):
    booking.meeting_answer(participation=Participation.objects.get(meeting=meeting, person=meeting.people[0]),
                           answer="declined")
    take(client_reply("apple_tentative.eml", meeting, attendee=meeting.people[2].email,
                      other=meeting.people[0].email))  # Apple repeats Jürgen as ACCEPTED
    assert rsvp(meeting, meeting.people[2]) == "tentative"
    assert rsvp(meeting, meeting.people[0]) == "declined"


def test_addresses_compare_without_mailto_and_case():
    assert address("MAILTO:Anna@Example.ORG") == address("mailto:anna@example.org") == address("<anna@example.org>")


# --- what must not count -------------------------------------------------------------------


def test_a_reply_to_an_older_sequence_changes_nothing(meeting, send):
    booking.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at + timedelta(hours=2),
                               ends_at=meeting.ends_at + timedelta(hours=2))
    send()  # everyone is told SEQUENCE 1
    record = take(client_reply("gmail_decline.eml", meeting, attendee=meeting.people[1].email, sequence=0))
    assert record.outcome == Outcome.IGNORED
    assert "SEQUENCE 0" in record.detail
    assert rsvp(meeting, meeting.people[1]) == "needs-action"


def test_a_forged_from_is_held_for_a_coordinator_and_confirmed_later(meeting):
    victim = meeting.people[1]
    record = take(client_reply("gmail_decline.eml", meeting, attendee=victim.email, sender="mallory@evil.example"))
    assert record.outcome == Outcome.HELD
    assert rsvp(meeting, victim) == "needs-action"
    held = HeldAnswer.objects.get()
    assert (held.kind, held.answer, held.sender) == ("answer", "declined", "mallory@evil.example")
    replies.held_answer_confirm(held=held, user=UserFactory())
    assert rsvp(meeting, victim) == "declined"


def test_sent_by_lets_an_assistant_answer(meeting):
    # the calendar is base64 in Gmail's shape: rebuild the message with the parameter inside
    msg = message_from_bytes(client_reply("gmail_decline.eml", meeting, attendee=meeting.people[1].email,
                                          sender="assistant@gmail.example.com"), policy=policy.compat32)
    for part in msg.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            text = part.get_payload(decode=True).decode().replace(
                "ATTENDEE;CUTYPE", 'ATTENDEE;SENT-BY="mailto:assistant@gmail.example.com";CUTYPE')
            part.set_payload(text.encode().decode("ascii", "surrogateescape"))
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "8bit"
    assert take(msg.as_bytes()).outcome == Outcome.APPLIED
    assert rsvp(meeting, meeting.people[1]) == "declined"


def test_the_same_reply_twice_changes_nothing_the_second_time(meeting):
    raw = client_reply("thunderbird_accept.eml", meeting, attendee=meeting.people[3].email)
    take(raw)
    booking.meeting_answer(participation=Participation.objects.get(meeting=meeting, person=meeting.people[3]),
                           answer="tentative")  # changed their mind on the web page
    relayed = b"Received: from relay2.example by mx.example; Tue, 14 Jul 2026 10:30:00 +0200\r\n" + raw
    record, new = replies.message_take(raw=relayed)
    assert not new and record.outcome == Outcome.APPLIED
    assert InboundMessage.objects.count() == 1
    assert rsvp(meeting, meeting.people[3]) == "tentative"


def test_replies_to_a_cancelled_meeting_are_ignored_and_logged(meeting, caplog):
    booking.meeting_cancel(meeting=meeting)
    record = take(client_reply("outlook_accept.eml", meeting, attendee=meeting.people[0].email))
    assert record.outcome == Outcome.IGNORED and "cancelled" in record.detail
    assert "cancelled" in caplog.text


def test_a_garbage_calendar_is_refused_and_kept_for_a_person(meeting):
    record = take(client_reply("garbage.eml", meeting, attendee=meeting.people[1].email))
    assert record.outcome == Outcome.REFUSED
    assert record.raw is not None and b"BEGIN:VCALENDAR" in bytes(record.raw)
    assert rsvp(meeting, meeting.people[1]) == "needs-action"
    with pytest.raises(NotACalendar):
        parse_itip("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")


def test_plain_mail_is_no_answer(meeting):
    assert take(client_reply("plain.eml", meeting, attendee=meeting.people[1].email)).outcome == Outcome.NOT_ITIP


def test_plain_mail_can_be_forwarded_to_the_coordinators(meeting, send):
    UserFactory(is_staff=True, email="coord@host.example.org")
    raw = client_reply("plain.eml", meeting, attendee=meeting.people[1].email)
    replies.message_take(raw=raw, forward_other=True)
    sent = send()
    forwarded = [m for m in sent if "Automatic reply" in str(m["Subject"])]
    assert forwarded and forwarded[0]["To"].addresses[0].addr_spec == "coord@host.example.org"
    attached = [p for p in forwarded[0].walk() if p.get_content_type() == "message/rfc822"]
    assert attached


def test_delegation_waits_for_a_coordinator_then_adds_the_delegate(meeting, send):
    record = take(client_reply("outlook_delegate.eml", meeting, attendee=meeting.people[0].email,
                               delegate="petra.lang@partner.example.org"))
    assert record.outcome == Outcome.HELD
    held = HeldAnswer.objects.get(kind="delegation")
    assert held.delegate_email == "petra.lang@partner.example.org" and held.delegate_name == "Petra Lang"
    assert not meeting.participations.filter(person__email="petra.lang@partner.example.org").exists()
    replies.held_answer_confirm(held=held)
    delegate = Participation.objects.get(meeting=meeting, person__email="petra.lang@partner.example.org")
    assert delegate.role == Participation.Role.HOST
    assert rsvp(meeting, meeting.people[0]) == "declined"
    invites = [m for m in send() if m["To"].addresses[0].addr_spec == "petra.lang@partner.example.org"]
    assert invites, "the delegate is invited like any new participant"


# --- counter-proposals -----------------------------------------------------------------------


def test_a_counter_is_stored_and_accepting_it_moves_the_meeting(meeting, send):
    new_start = meeting.starts_at + timedelta(hours=1)
    record = take(client_reply("outlook_counter.eml", meeting, attendee=meeting.people[0].email, new_start=new_start))
    assert record.outcome == Outcome.COUNTER
    counter = CounterProposal.objects.get()
    assert counter.starts_at == new_start and counter.person == meeting.people[0]
    assert "später" in counter.comment
    replies.counter_accept(counter=counter)
    meeting.refresh_from_db()
    assert meeting.starts_at == new_start and meeting.sequence == 1
    updates = [m for m in send() if calendar_part(m)[1] == "REQUEST"]
    assert len(updates) == len(meeting.people)


def test_declining_a_counter_sends_declinecounter(meeting, send):
    take(client_reply("outlook_counter.eml", meeting, attendee=meeting.people[0].email))
    replies.counter_decline(counter=CounterProposal.objects.get(), comment="The room is taken then.")
    sent = send()
    assert len(sent) == 1 and sent[0]["To"].addresses[0].addr_spec == meeting.people[0].email
    data, method = calendar_part(sent[0])
    assert method == "DECLINECOUNTER"
    event = assert_valid_ical(data, method="DECLINECOUNTER").walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and "SEQUENCE" not in event  # zero: the RFC lets it out
    assert event["ORGANIZER"].lower() == f"mailto:{settings.VISITDESK_ORGANIZER_EMAIL}".lower()
    assert str(event["COMMENT"]) == "The room is taken then."
    assert "Zeit" in text_part(sent[0]) or "time" in text_part(sent[0])
    assert OutboxMessage.objects.get(kind=Kind.DECLINE_COUNTER).state == "sent"
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_a_counter_against_a_meeting_that_moved_since_cannot_be_accepted(meeting, send):
    take(client_reply("outlook_counter.eml", meeting, attendee=meeting.people[0].email))
    booking.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at + timedelta(days=1),
                               ends_at=meeting.ends_at + timedelta(days=1))
    with pytest.raises(replies.MeetingChanged):
        replies.counter_accept(counter=CounterProposal.objects.get())
    with pytest.raises(replies.AlreadyDecided):
        replies.counter_decline(counter=CounterProposal.objects.get())
        replies.counter_decline(counter=CounterProposal.objects.get())
