"""``Idempotency-Key`` support for create endpoints (visit requests, meetings).

    first request    → claims (caller, endpoint, key) with the body's hash, runs, stores status + body
    same key + body  → the stored answer again (same status, same body), nothing created
    same key, other body → 422 ``idempotency_mismatch``
    same key while the first still runs → 409 ``idempotency_in_progress`` (retry later)

The claim is committed before the work starts, so the unique constraint settles concurrent
duplicates; a request that fails (4xx/5xx) releases its claim, so a corrected retry may reuse the key.
The work and the stored answer commit in one transaction: a claim still "in progress" when its
request can no longer be running (older than gunicorn's timeout, ``VISITDESK_WEB_TIMEOUT``, plus a
margin) belongs to a web server that died mid-request — whose work therefore never committed — and
the next request with the key takes it over. Before, such a claim answered 409 for 24 hours
(found by ``make drill``, which kills a web server while bookings are in flight).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
#: Stored answers older than this no longer block a key (they are replaced on next use).
RETENTION = timedelta(hours=24)


def abandoned_after() -> timedelta:
    """An unfinished claim older than this has no request behind it (gunicorn kills at the timeout)."""
    return timedelta(seconds=settings.VISITDESK_WEB_TIMEOUT + 10)


class IdempotencyMismatch(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_mismatch"
    default_detail = "This Idempotency-Key was already used with a different request body."


class IdempotencyInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


def caller_scope(request) -> str:
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    ident = request.META.get("REMOTE_ADDR") or "unknown"
    num_proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        addrs = [a.strip() for a in forwarded.split(",")]
        ident = addrs[-min(num_proxies, len(addrs))]
    return f"anon:{ident[:80]}"


def _body_hash(request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body, status=row.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(endpoint: str):
    """Decorate a view method that creates something; the header is optional."""

    def decorator(method):
        @wraps(method)
        def wrapper(self, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return method(self, request, *args, **kwargs)
            if not KEY_RE.match(key):
                raise ValidationError({HEADER: ["Use 1–255 visible ASCII characters, e.g. a UUID."]})
            scope = caller_scope(request)
            digest = _body_hash(request)  # parses the body first: malformed JSON is a 400 before any claim
            row = _claim(scope=scope, endpoint=endpoint, key=key, digest=digest)
            if row is not None:
                if row.request_hash != digest:
                    raise IdempotencyMismatch()
                if row.state != IdempotencyKey.State.DONE:
                    raise IdempotencyInProgress()
                return _replay(row)
            try:
                with transaction.atomic():  # the work and its stored answer: both or neither
                    response = method(self, request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).update(
                            state=IdempotencyKey.State.DONE,
                            response_status=response.status_code,
                            response_body=json.loads(json.dumps(response.data, default=str)),
                        )
            except BaseException:
                IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).delete()
                raise
            if not 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).delete()
            return response

        return wrapper

    return decorator


def _claim(*, scope: str, endpoint: str, key: str, digest: str) -> IdempotencyKey | None:
    """Claim the key (returns None) or return the row of whoever claimed it first."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(scope=scope, endpoint=endpoint, key=key, request_hash=digest)
            return None
        except IntegrityError:
            row = IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).first()
            if row is None:
                continue  # the holder failed and released it between our insert and our read
            if row.created_at < timezone.now() - RETENTION:
                IdempotencyKey.objects.filter(pk=row.pk).delete()
                continue
            if row.state == IdempotencyKey.State.IN_PROGRESS and row.created_at < timezone.now() - abandoned_after():
                # Its request cannot still be running: its server died, and its work rolled back.
                IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()
                continue
            return row
    raise IdempotencyInProgress()
