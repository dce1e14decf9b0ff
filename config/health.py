"""``/healthz`` (liveness) and ``/readyz`` (readiness), answered before host validation and HTTPS redirects.

Container health checks call ``http://127.0.0.1:8000/healthz`` with a Host header that is not in
``ALLOWED_HOSTS`` and without TLS; they must still get an answer.

- ``/healthz`` says only that this process serves requests: always 200 ``ok``. It never looks at
  PostgreSQL or Redis, so an outage of either does not make an orchestrator restart every web
  process (which would not bring the database back).
- ``/readyz`` says whether this process can do its work now and, if not, which dependency is
  missing: ``{"status": "ready"|"unavailable", "checks": {"database": "ok", "broker": "down
  (ConnectionError)"}}``, 200 or 503. A load balancer takes a process out of rotation on 503.
  While only the broker is down, writes still succeed (mail follows when it is back); the 503 is
  for operators and balancers that prefer fully working instances. Errors are named by their
  class only, never with addresses or credentials.

The database check reads one row of the meetings table, inside a transaction whose statement and
lock timeouts are ``CHECK_TIMEOUT``: a ``SELECT 1`` answers while ``events_meeting`` is locked and
every request that needs it waits, so it would report "ok" through exactly the stall readiness is
for.
"""

from __future__ import annotations

import json
import os

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse

#: Seconds each dependency may take to answer.
CHECK_TIMEOUT = 2


def _database() -> None:
    from django.apps import apps

    table = apps.get_model("events", "Meeting")._meta.db_table
    connection = connections["default"]
    connection.ensure_connection()
    with transaction.atomic(using="default"), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            limit = f"{CHECK_TIMEOUT * 1000}ms"
            cursor.execute("SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
                           [limit, limit])
        cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608 (a model's table)
        cursor.fetchone()


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT,
                                      retry=Retry(NoBackoff(), 0))
        try:
            client.ping()
        finally:
            client.close()
        return
    if url.startswith("filesystem://"):  # the embedded development broker: its folders must be writable
        folder = str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not os.access(folder, os.W_OK):
            raise OSError("broker folder not writable")
        return
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)


CHECKS = {"database": _database, "broker": _broker}


def readiness() -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready", named, never raised
            results[name] = f"down ({type(exc).__name__})"
    return all(v == "ok" for v in results.values()), results


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz":
            ready, checks = readiness()
            body = json.dumps({"status": "ready" if ready else "unavailable", "checks": checks})
            response = HttpResponse(body, status=200 if ready else 503, content_type="application/json")
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
