"""Password guesses are still counted while Redis is down (issue 17).

The cache is ``ResilientRedisCache`` pointed at a port nothing listens on — what production sees
during a Redis outage: every cache call misses instead of raising. Before, the login throttle then
let every guess through; now it counts in the process's memory.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from core import throttle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # released on close: nothing listens there


@pytest.fixture
def redis_down(settings, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.VISITDESK_THROTTLE_RATES = dict(settings.VISITDESK_THROTTLE_RATES, login="5/minute")
    monkeypatch.setattr(throttle, "_local", throttle._LocalCounts())
    assert cache.add("probe", 1) is False and cache.get("probe") is None  # the cache really is unavailable


def test_login_guesses_are_throttled_while_redis_is_down(redis_down):
    UserFactory(username="victim", password="right-horse-battery")
    client = Client(REMOTE_ADDR="10.9.8.7")
    # Windows are fixed minutes: start at the top of one, so a slow machine cannot cross into the next.
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC), tick=True):
        codes = [client.post("/staff/login/", {"username": "victim", "password": f"guess-{i}"}).status_code
                 for i in range(7)]
        assert codes[:5] == [200] * 5  # the form again, with an error
        assert codes[5:] == [429, 429]
        # The admin's login shares the one "login" budget per address.
        assert client.post("/admin/login/", {"username": "victim", "password": "x"}).status_code == 429
        # Another address has its own budget.
        assert Client(REMOTE_ADDR="10.9.8.8").post("/staff/login/", {"username": "victim", "password": "x"}).status_code == 200


def test_the_local_counter_stays_bounded(monkeypatch):
    counts = throttle._LocalCounts()
    monkeypatch.setattr(throttle._LocalCounts, "MAX_KEYS", 100)
    for i in range(1000):
        counts.count(f"k{i}", expires_at=10**12)
    assert len(counts._counts) <= 100
    assert counts.count("k999", expires_at=10**12) == 2  # the newest windows are the ones kept
