"""Builders for the calendar tests: meetings go through ``events.services`` as the API creates them."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime, timedelta
from itertools import count

import pytest
from django.conf import settings
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone as djtz
from django.utils.module_loading import import_string

from events.services import AgendaSpec, ParticipantSpec, meeting_create
from tests.factories import EventFactory, PersonFactory, RoomFactory, TopicFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz)


def _private_cache(folder):
    """The configured cache backend (Redis in CI) under a key prefix of its own.

    Feed bodies and throttle counters live in the shared cache; clearing it would wipe other
    tests' counters running in parallel, so each test gets a fresh prefix instead. The file-based
    cache of the embedded defaults also gets a folder of its own: it culls a random third of its
    files once the shared folder holds 300, which used to delete a throttle counter mid-test
    (``test_feeds_are_throttled`` then saw four 200s, now and then).
    """
    params = dict(settings.CACHES["default"])
    backend = import_string(params.pop("BACKEND"))
    params["KEY_PREFIX"] = f"calendar-tests-{uuid.uuid4().hex}"
    location = params.pop("LOCATION", "")
    if issubclass(backend, FileBasedCache):
        location = str(folder / uuid.uuid4().hex)
    return backend(location, params)


@pytest.fixture(autouse=True)
def feed_cache(monkeypatch, tmp_path):
    """Returns ``reset()``: forget every cached feed body and throttle counter (a new empty cache)."""

    used = []

    def reset():
        fresh = _private_cache(tmp_path / "cache")
        used.append(fresh)
        monkeypatch.setattr("calendars.feeds.cache", fresh)
        monkeypatch.setattr("core.throttle.cache", fresh)
        return fresh

    reset()
    yield reset
    for backend in used:  # a shared Redis keeps nothing behind (the generation key never expires)
        if isinstance(backend, RedisCache):
            client = backend._cache.get_client(write=True)
            for key in client.scan_iter(f"{backend.key_prefix}:*", count=1000):
                client.delete(key)


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
