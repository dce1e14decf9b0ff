"""Builders for the calendar tests: meetings go through ``events.services`` as the API creates them."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from itertools import count

import pytest
from django.core.cache import cache
from django.utils import timezone as djtz

from events.services import AgendaSpec, ParticipantSpec, meeting_create
from tests.factories import EventFactory, PersonFactory, RoomFactory, TopicFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_meeting(db):
    """A meeting via ``meeting_create``; each call gets its own hour so rooms and people never clash."""
    hours = count()

    def make(*, participants=(), agenda=(), starts_at=None, minutes=60, **fields):
        if starts_at is None:
            base = (djtz.now() + timedelta(days=14)).astimezone(BERLIN).replace(hour=0, minute=0, second=0, microsecond=0)
            starts_at = base + timedelta(hours=next(hours) * 2)
        fields.setdefault("title", "Cooperation talk")
        return meeting_create(
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            participants=[ParticipantSpec(person, role) for person, role in participants],
            agenda_items=list(agenda),
            **fields,
        )

    return make


@pytest.fixture
def rich_meeting(make_meeting):
    """A visit-style meeting with everything a VEVENT can carry."""
    chair = PersonFactory(name="Dr. Jana Weber", email="jana.weber@stemcell.example.org")
    guest = PersonFactory(name="Lars Nilsson", email="lars@lifescience-nord.example.org")
    stem, eu = TopicFactory(name="Stem cell R&D", slug="stem-cells"), TopicFactory(name="EU funding: Horizon 2020", slug="h2020")
    meeting = make_meeting(
        title="Cross-border R&D cooperation",
        description="Welcome and introductions.",
        room=RoomFactory(name="Seminar room 2"),
        online_url="https://meet.example.org/visit-42",
        participants=[(chair, "chair"), (guest, "guest")],
        agenda=[AgendaSpec(title="Stem cell platform", topic=stem, presenter=chair, minutes=30, notes="Lab tour after"),
                AgendaSpec(title="Joint Horizon proposal", topic=eu, minutes=20)],
    )
    return meeting, chair, guest


@pytest.fixture
def public_event(db):
    return EventFactory(title="Cell therapy info day", is_public=True)
