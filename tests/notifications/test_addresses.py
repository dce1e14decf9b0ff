"""No poison messages: any display name is one address, and one bad message fails alone.

A name like "Müller, Anna" used to be written as ``f"{name} <{email}>"``; Django's mail classes
then split it at the comma and raised ``ValueError`` while sending, the dispatcher crashed with the
whole batch in ``sending``, and after eight sweeps every innocent invite of the batch was failed.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from notifications import compose, dispatch
from notifications.models import Kind, OutboxMessage
from notifications.transports import MailTransport
from tests.factories import PersonFactory

from .conftest import parsed, to_addr

State = OutboxMessage.State

HOSTILE_NAMES = [
    "Müller, Anna",
    'Dr. Björn "Bär" Weiß; Leitung',
    "Ann <boss@evil.example>",
    "Back\\slash \\\"quoted\\\"",
    "Line\r\nBcc: everyone@evil.example",
    "李小龙 (Bruce) 👩‍🔬",
    "Ελένη Παπαδοπούλου; Αθήνα",
    "x" * 300,
]


def _roundtrip(name: str, address: str):
    """Build the real outbound bytes for ``name`` and parse them back as a mail client would."""
    person = PersonFactory.build(name=name, email=address)
    row = OutboxMessage(key="k", kind=Kind.VISIT_ACK, person=person, due_at=timezone.now())
    message = compose.to_email(row, compose.Rendered("Subject", "Body\n", "<p>Body</p>"))
    data = message.message().as_bytes(linesep="\r\n")
    parsed_message = email.message_from_bytes(data, policy=email.policy.default)
    (parsed_address,) = parsed_message["To"].addresses
    return parsed_address


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_display_names_stay_one_quoted_address(name):
    parsed_address = _roundtrip(name, "anna@example.org")
    assert parsed_address.addr_spec == "anna@example.org"
    assert parsed_address.display_name == compose.display_name(name)
    assert "evil.example" not in parsed_address.addr_spec


def test_quotes_in_the_name_are_kept():
    assert _roundtrip('Dr. Björn "Bär" Weiß; Leitung', "b@example.org").display_name == 'Dr. Björn "Bär" Weiß; Leitung'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120))
@example(name='Müller, "Anna" \\ <x@y>;\r\n 🚀')
@example(name="=?utf-8?q?not_an_encoded_word?=")
@example(name=" \t leading and trailing \n ")
def test_any_display_name_round_trips_through_build_and_parse(name):
    parsed_address = _roundtrip(name, "anna.mueller@example.org")
    assert parsed_address.addr_spec == "anna.mueller@example.org"
    assert parsed_address.display_name == compose.display_name(name)


# --- one bad message fails alone -------------------------------------------------------------


def _reminders(names: list[str]) -> list[OutboxMessage]:
    from events.services import ParticipantSpec, meeting_create

    now = timezone.now()
    rows = []
    for i, name in enumerate(names):
        person = PersonFactory(name=name)
        start = now + timedelta(days=3, hours=i)
        meeting = meeting_create(title=f"M{i}", starts_at=start, ends_at=start + timedelta(minutes=30),
                                 participants=[ParticipantSpec(person, "host")])
        rows.append(OutboxMessage.objects.create(key=f"poison:{i}", kind=Kind.REMINDER, person=person,
                                                 meeting=meeting, offset_minutes=60, due_at=now))
    return rows


@pytest.mark.django_db
def test_one_anonymous_requester_with_an_odd_name_does_not_stop_anybodys_mail():
    rows = _reminders(["Alice", "Müller, Anna", 'Dr. Björn "Bär" Weiß;\nLeitung', "Bob"])
    before = len(mail.outbox)
    stats = dispatch.dispatch_due(do_reconcile=False, transport=MailTransport())
    sent = [parsed(m) for m in mail.outbox[before:]]
    assert stats["sent"] == 4 and stats["failed"] == 0
    assert {to_addr(m) for m in sent} == {r.person.email for r in rows}
    assert {r.state for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])} == {State.SENT}


class ExplodingBackend:
    """A mail backend (Django's interface) that fails one recipient's message with a non-SMTP error."""

    def __init__(self, poison: str):
        self.poison = poison
        self.sent: list[str] = []
        self.closed = 0

    def open(self):
        return True

    def close(self):
        self.closed += 1

    def send_messages(self, messages):
        for message in messages:
            if self.poison in message.to[0]:
                raise ValueError("Invalid address; only one @ allowed")
            self.sent.append(message.to[0])
        return len(messages)


@pytest.mark.django_db
def test_a_non_transient_error_sending_one_message_fails_that_row_alone_with_the_real_error():
    rows = _reminders(["Alice", "Poison", "Bob", "Carol"])
    poison = rows[1].person.email
    backend = ExplodingBackend(poison)
    stats = dispatch.dispatch_due(do_reconcile=False, transport=MailTransport(connection=backend))
    assert stats["sent"] == 3 and stats["failed"] == 1
    assert len(backend.sent) == 3 and poison not in " ".join(backend.sent)
    states = dict(OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "state"))
    assert states == {rows[0].pk: State.SENT, rows[1].pk: State.FAILED, rows[2].pk: State.SENT, rows[3].pk: State.SENT}
    failed = OutboxMessage.objects.get(pk=rows[1].pk)
    assert "ValueError: Invalid address; only one @ allowed" in failed.last_error
    assert not OutboxMessage.objects.filter(state=State.SENDING).exists()
