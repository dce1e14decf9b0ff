"""Per-client rate limits for the public pages, sharing the API's configured rates.

A fixed window counted in the cache (Redis in production, so every web process sees the same
count). The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` so one setting governs a
scope on both the API and the pages; the counters are separate because a form post and an API
call are different clients' habits.
"""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` → (20, 3600), the format DRF uses."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period[0]]


def client_ip(request) -> str:
    """REMOTE_ADDR only: a forwarded-for header is written by the client and would let it pick its key.

    Behind a reverse proxy, the proxy must set REMOTE_ADDR (e.g. gunicorn ``--forwarded-allow-ips``).
    """
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(scope: str, ident: str) -> int | None:
    """Count one request; the seconds to wait if the client is over its limit, else None."""
    limit, period = parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])
    window = int(time.time() // period)
    key = f"web-throttle:{scope}:{ident}:{window}"
    # add() creates the counter atomically with its expiry; incr() is atomic on Redis.
    if cache.add(key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        return max(1, (window + 1) * period - int(time.time()))
    return None


def throttled(scope: str, *, methods: tuple[str, ...] = ("GET", "POST"), when=None):
    """Answer 429 (a page saying when to retry) once a client exceeds the scope's rate.

    ``when(request)`` can narrow what counts, e.g. only real submissions and not "add a row".
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods and (when is None or when(request)):
                wait = hit(scope, client_ip(request))
                if wait is not None:
                    response = render(request, "web/throttled.html", {"retry_after": wait}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
