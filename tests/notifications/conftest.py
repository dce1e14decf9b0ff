"""Builders for the notification tests: the workflow goes through the real services.

Unit tests here dispatch in-process (``dispatch_due`` with Django's locmem mail backend); the
receivers' broker nudge is recorded instead of published. The real worker/Redis/SMTP path is in
``tests/integration``.
"""

from __future__ import annotations

import email
import email.policy
import zoneinfo
from datetime import date, datetime, timedelta
from email.message import Message

import pytest
from django.core import mail

from events.services import ParticipantSpec, meeting_create
from notifications import dispatch
from notifications.models import OutboxMessage
from tests.factories import PersonFactory, RoomFactory, UserFactory
from visits import services as visit_services

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Record dispatcher nudges instead of publishing them to a broker."""
    calls: list[int] = []
    monkeypatch.setattr("notifications.tasks.nudge_dispatcher", lambda: calls.append(1))
    return calls


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0
    settings.VISITDESK_REMINDERS_HOST = [1440, 60]
    settings.VISITDESK_REMINDERS_DELEGATION = [10080, 1440]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.fixture
def send():
    """Run one dispatcher pass in-process; returns the mails it sent, parsed as they left."""

    def run() -> list[Message]:
        before = len(mail.outbox)
        dispatch.dispatch_due()
        return [parsed(m) for m in mail.outbox[before:]]

    return run


def parsed(message) -> Message:
    return email.message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=email.policy.default)


def calendar_part(msg: Message) -> tuple[bytes, str]:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True), part.get_param("method")
    raise AssertionError("no text/calendar part")


def text_part(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError("no text/plain part")


def subject(msg: Message) -> str:
    return " ".join(str(msg["Subject"]).split())


def to_addr(msg: Message) -> str:
    return email.utils.parseaddr(msg["To"])[1]


@pytest.fixture
def host(db):
    return PersonFactory(name="Dr. Jana Weber", email="jana@host.example.org")


@pytest.fixture
def guest(db):
    return PersonFactory(name="Lars Nilsson", email="lars@guest.example.org", timezone="Europe/Berlin")


@pytest.fixture
def room(db):
    return RoomFactory(name="Room B")


@pytest.fixture
def standalone(db, host, guest, room):
    """A standalone meeting in ten days, 10:00–11:00 Berlin, host + guest."""

    def make(start: datetime | None = None, people=None, **fields):
        start = start or (datetime.now(BERLIN) + timedelta(days=10)).replace(hour=10, minute=0, second=0, microsecond=0)
        fields.setdefault("title", "Cross-border R&D cooperation")
        people = people if people is not None else [(host, "host"), (guest, "guest")]
        return meeting_create(
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            room=fields.pop("room", room),
            participants=[ParticipantSpec(p, r) for p, r in people],
            **fields,
        )

    return make


@pytest.fixture
def coordinator(db):
    user = UserFactory(username="coord", email="coord@host.example.org", is_staff=True)
    return PersonFactory(name="Carla Coordinator", email="coord@host.example.org", user=user)


@pytest.fixture
def requested_visit(db):
    def make(first_day: date | None = None, **overrides):
        first_day = first_day or (datetime.now(BERLIN) + timedelta(days=20)).date()
        data = visit_services.VisitRequestInput(
            organisation_name="Life Science Nord",
            organisation_country="DE",
            contact_name="Anna Requester",
            contact_email="anna@lsn.example.org",
            contact_language=overrides.pop("language", "en"),
            delegation_name="LSN delegation",
            delegation_size=3,
            members=[visit_services.MemberSpec(name="Mika Member", email="mika@lsn.example.org")],
            preferred_windows=[(first_day, first_day + timedelta(days=1))],
            purpose="Stem cell cooperation",
        )
        return visit_services.visit_request_submit(data=data)

    return make


def rows(**filters):
    return list(OutboxMessage.objects.filter(**filters).order_by("id"))
