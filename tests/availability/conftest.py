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
