"""Fixed-window rate limits counted in the cache, for everything outside the API.

The pages (``web.throttle``) and the calendar feeds (``calendars.feeds``, ``calendars.freebusy``)
share this one implementation and the one rate table ``settings.VISITDESK_THROTTLE_RATES``; the
API's DRF throttles read the same table through ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, so
one setting governs a scope everywhere while the counters stay separate. Nothing here imports DRF:
domain apps may use it.

The counter lives in the default cache (Redis in production, so every process sees the same
count); ``add()`` creates it atomically with its expiry and ``incr()`` is atomic on Redis.

While the cache cannot count — Redis is down, and ``config.cache.ResilientRedisCache`` turns every
call into a miss rather than a 500 — the counter falls back to this process's memory
(``_LocalCounts``). Limits then hold per process instead of site-wide (with 3 gunicorn workers a
client gets at most 3× the rate), which is far better than none: before, password guesses on the
login pages were not counted at all while Redis was away.
"""

from __future__ import annotations

import hashlib
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` → (20, 3600), the format DRF uses."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR only: a forwarded-for header is written by the client and would let it pick its key.

    Behind a reverse proxy, the proxy must set REMOTE_ADDR (e.g. gunicorn ``--forwarded-allow-ips``).
    """
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def hit(scope: str, ident: str) -> int | None:
    """Count one request; the seconds to wait if the client is over the scope's limit, else None."""
    limit, period = parse_rate(settings.VISITDESK_THROTTLE_RATES[scope])
    window = int(time.time() // period)
    key = f"throttle:{scope}:{ident}:{window}"
    count = _count_in_cache(key, period)
    if count is None:
        count = _local.count(key, expires_at=(window + 1) * period)
    if count > limit:
        return max(1, (window + 1) * period - int(time.time()))
    return None


def _count_in_cache(key: str, period: int) -> int | None:
    """This request's number in the window, or None when the cache could not count it."""
    if cache.add(key, 1, timeout=period + 1):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # the key is gone: expired between add() and incr(), or the cache is down
        if cache.add(key, 1, timeout=period + 1):
            return 1
        return None  # add() refused a key that incr() cannot find: nothing is counting


class _LocalCounts:
    """Fixed-window counters in this process's memory, for while the shared cache is unavailable.

    Bounded: expired windows are dropped when the table is full, and if every entry is still live
    the oldest windows go first, so a flood of distinct client addresses cannot grow it without end.
    """

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def count(self, key: str, *, expires_at: float) -> int:
        with self._lock:
            if key not in self._counts and len(self._counts) >= self.MAX_KEYS:
                self._prune()
            count = self._counts.get(key, (0, expires_at))[0] + 1
            self._counts[key] = (count, expires_at)
            return count

    def _prune(self) -> None:
        now = time.time()
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        if len(self._counts) >= self.MAX_KEYS:
            oldest = sorted(self._counts, key=lambda k: self._counts[k][1])[: self.MAX_KEYS // 2]
            for k in oldest:
                del self._counts[k]


_local = _LocalCounts()


def hit_per_url(scope: str, request: HttpRequest) -> int | None:
    """``hit`` keyed by client address *and* URL path.

    For calendar feeds: many subscribers share the egress addresses of Google or Microsoft;
    guessing 192-bit tokens is pointless, hammering one URL is what this stops.
    """
    path = hashlib.sha256(request.path.encode()).hexdigest()[:16]
    return hit(scope, f"{client_ip(request)}:{path}")
