"""A small world for the API tests: a coordinator, two hosts, a requester, a visit with a programme.

    coordinator  staff account + Person               sees and changes everything
    host         account + Person, chair of meeting   sees ``meeting`` (in ``visit``'s programme)
    other_host   account + Person, host of ``other_meeting`` (standalone)
    requester    no account; holds ``visit.status_token``
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone as djtz
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from api.external_calendars import CalendarSyncThrottle
from api.webhooks import WebhookWriteThrottle
from directory.models import Person
from events import services as event_services
from events.models import Meeting, Room
from tests.factories import EventFactory, OrganisationFactory, RoomFactory, TopicFactory, UserFactory
from visits import booking
from visits import services as visit_services
from visits.models import Visit

GENEROUS_RATES = {"visit_request": "10000/min", "public": "10000/min", "status": "10000/min", "feed": "10000/min"}


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    """Rates these tests will not hit (the cache is shared with parallel workers, so it is not cleared)."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", dict(GENEROUS_RATES))
    monkeypatch.setattr(CalendarSyncThrottle, "THROTTLE_RATES", {"calendar_sync": "10000/min"})
    monkeypatch.setattr(WebhookWriteThrottle, "THROTTLE_RATES", {"webhooks": "10000/min"})


def fresh_client_address() -> str:
    """A client address no earlier run or parallel worker has used, so throttle history starts empty."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def next_week(hour: int, minute: int = 0, days: int = 7):
    base = djtz.localtime(djtz.now()).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + timedelta(days=days)


def visit_request_body(n: int = 1, **overrides) -> dict:
    start = djtz.localdate() + timedelta(days=30)
    body = {
        "organisation": {"name": f"Life Science Nord {n}", "country": "DE", "website": "https://example.org"},
        "contact": {"name": f"Dr. Contact {n}", "email": f"contact{n}@lsn.example.org", "language": "de"},
        "delegation": {
            "name": f"LSN delegation {n}",
            "size": 3,
            "members": [{"name": f"Member {n}", "email": f"member{n}@lsn.example.org", "job_title": "CEO"}],
        },
        "preferred_windows": [{"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()}],
        "topics": ["stem-cells"],
        "purpose": "Cross-border R&D cooperation.",
    }
    body.update(overrides)
    return body


@dataclass
class World:
    coordinator: object
    host: object
    other_host: object
    coordinator_person: Person
    host_person: Person
    other_person: Person
    room: Room
    spare_room: Room
    visit: Visit
    other_visit: Visit
    meeting: Meeting
    other_meeting: Meeting
    public_meeting: Meeting
    topic: object

    def client(self, role: str) -> APIClient:
        client = APIClient()
        user = {"coordinator": self.coordinator, "host": self.host, "other_host": self.other_host}.get(role)
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client


def _person_for(user, name: str, organisation) -> Person:
    return Person.objects.create(name=name, email=f"{user.username}@centre.example.org", user=user,
                                 organisation=organisation)


def _submit(n: int) -> Visit:
    start = djtz.localdate() + timedelta(days=20 + n)
    return visit_services.visit_request_submit(
        data=visit_services.VisitRequestInput(
            organisation_name=f"Visiting Org {n}",
            organisation_country="DK",
            contact_name=f"Visitor {n}",
            contact_email=f"visitor{n}@visiting.example.org",
            delegation_name=f"Delegation {n}",
            delegation_size=2,
            preferred_windows=[(start, start + timedelta(days=1))],
        )
    )


@pytest.fixture
def fast_passwords(settings):
    """PBKDF2 costs a second per user on a busy CI box; these tests are not about hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, fast_passwords) -> World:
    centre = OrganisationFactory(name="Stem Cell Research Center")
    topic = TopicFactory(name="Stem cells", slug="stem-cells")
    coordinator = UserFactory(username="coord", is_staff=True)
    host = UserFactory(username="host", is_staff=False)
    other_host = UserFactory(username="otherhost", is_staff=False)
    coordinator_person = _person_for(coordinator, "Carla Coordinator", centre)
    host_person = _person_for(host, "Dr. Hanna Host", centre)
    other_person = _person_for(other_host, "Dr. Otto Other", centre)
    room = RoomFactory(name="Lab 1")
    spare_room = RoomFactory(name="Spare", venue=room.venue)
    visit = _submit(1)
    other_visit = _submit(2)
    meeting = booking.meeting_create(
        visit=visit, title="Lab tour", starts_at=next_week(10), ends_at=next_week(11), room=room,
        participants=[event_services.ParticipantSpec(person=host_person, role="chair"),
                      event_services.ParticipantSpec(person=visit.contact, role="guest")],
        agenda_items=[event_services.AgendaSpec(title="Welcome", topic=topic, presenter=host_person, minutes=10)],
    )
    other_meeting = booking.meeting_create(
        visit=other_visit, title="Other visit's talk", starts_at=next_week(14), ends_at=next_week(15),
        participants=[event_services.ParticipantSpec(person=other_person, role="host")],
    )
    event = EventFactory(title="Stem cell info day", slug="stem-cell-info-day", venue=room.venue)
    public_meeting = event_services.meeting_create(
        title="Info day keynote", starts_at=next_week(9, days=9), ends_at=next_week(10, days=9), event=event,
        location="Auditorium",
    )
    return World(
        coordinator=coordinator, host=host, other_host=other_host, coordinator_person=coordinator_person,
        host_person=host_person, other_person=other_person, room=room, spare_room=spare_room, visit=visit,
        other_visit=other_visit, meeting=meeting, other_meeting=other_meeting, public_meeting=public_meeting,
        topic=topic,
    )


@pytest.fixture
def coordinator_client(world) -> APIClient:
    return world.client("coordinator")
