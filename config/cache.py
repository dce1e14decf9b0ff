"""The Redis cache, degraded to "always a miss" while Redis is unreachable.

The cache holds nothing that is not also elsewhere: throttle counters, memoized feed validators,
rendered feed bodies. Losing it for a while must not turn every request into a 500 — above all not
a write that already committed (the on-commit feed-generation bump used to raise and answer 500 for
a stored meeting, so a client's retry created it twice). While Redis is down, reads miss, writes are
dropped, the API's throttles let requests through (``core.throttle`` — pages, login, feeds — counts
in process memory instead), and each failure is logged (once per
``LOG_EVERY_SECONDS``, not per call). Everything recovers by itself when Redis returns.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
LOG_EVERY_SECONDS = 30


class ResilientRedisCache(RedisCache):
    _last_logged = 0.0

    def _down(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - type(self)._last_logged >= LOG_EVERY_SECONDS:
            type(self)._last_logged = now
            logger.warning("cache unavailable (%s: %r); serving without it until Redis is back", operation, exc)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except OUTAGE as exc:
            self._down("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except OUTAGE as exc:
            self._down("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except OUTAGE as exc:
            self._down("has_key", exc)
            return False

    def add(self, *args, **kwargs):
        try:
            return super().add(*args, **kwargs)
        except OUTAGE as exc:
            self._down("add", exc)
            return False

    def set(self, *args, **kwargs):
        try:
            return super().set(*args, **kwargs)
        except OUTAGE as exc:
            self._down("set", exc)
            return None

    def set_many(self, *args, **kwargs):
        try:
            return super().set_many(*args, **kwargs)
        except OUTAGE as exc:
            self._down("set_many", exc)
            return []

    def touch(self, *args, **kwargs):
        try:
            return super().touch(*args, **kwargs)
        except OUTAGE as exc:
            self._down("touch", exc)
            return False

    def delete(self, *args, **kwargs):
        try:
            return super().delete(*args, **kwargs)
        except OUTAGE as exc:
            self._down("delete", exc)
            return False

    def delete_many(self, *args, **kwargs):
        try:
            return super().delete_many(*args, **kwargs)
        except OUTAGE as exc:
            self._down("delete_many", exc)
            return None

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except OUTAGE as exc:
            self._down("incr", exc)
            raise ValueError(f"Key {key!r} not found (cache unavailable)") from exc
