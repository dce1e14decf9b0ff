"""Helpers for the availability tests: wall-clock builders and both computation paths."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time

import pytest
from django.db import connection

from availability.models import WeeklyHours

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def office_hours(person, days=range(5), start=time(9), end=time(17)) -> None:
    WeeklyHours.objects.bulk_create(WeeklyHours(person=person, weekday=d, start=start, end=end) for d in days)


def engines() -> list[str]:
    """The Python path always; the PostgreSQL path when the database is PostgreSQL."""
    return ["python", "postgres"] if connection.vendor == "postgresql" else ["python"]


@pytest.fixture
def both_engines(db):
    return engines()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Users made here never log in with a password worth hashing slowly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def generous_calendar_sync_rate(settings, monkeypatch):
    """Adding calendars and syncing them is rate-limited per user; user ids repeat between tests (and
    the embedded cache outlives a run), so these tests use a rate they cannot reach. The throttle
    tests set a low one and a fresh cache key space."""
    from api.external_calendars import CalendarSyncThrottle

    settings.VISITDESK_THROTTLE_RATES = dict(settings.VISITDESK_THROTTLE_RATES, calendar_sync="100000/hour")
    monkeypatch.setattr(CalendarSyncThrottle, "THROTTLE_RATES", {"calendar_sync": "100000/hour"})
