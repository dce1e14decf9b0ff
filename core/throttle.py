"""Fixed-window rate limits counted in the cache, for everything outside the API.

The pages (``web.throttle``) and the calendar feeds (``calendars.feeds``, ``calendars.freebusy``)
share this one implementation and the one rate table ``settings.VISITDESK_THROTTLE_RATES``; the
API's DRF throttles read the same table through ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, so
one setting governs a scope everywhere while the counters stay separate. Nothing here imports DRF:
domain apps may use it.

The counter lives in the default cache (Redis in production, so every process sees the same
count); ``add()`` creates it atomically with its expiry and ``incr()`` is atomic on Redis.
"""

from __future__ import annotations

import hashlib
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
    count: int
    if cache.add(key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = int(cache.incr(key))
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        return max(1, (window + 1) * period - int(time.time()))
    return None


def hit_per_url(scope: str, request: HttpRequest) -> int | None:
    """``hit`` keyed by client address *and* URL path.

    For calendar feeds: many subscribers share the egress addresses of Google or Microsoft;
    guessing 192-bit tokens is pointless, hammering one URL is what this stops.
    """
    path = hashlib.sha256(request.path.encode()).hexdigest()[:16]
    return hit(scope, f"{client_ip(request)}:{path}")
