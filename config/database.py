"""Database timeouts for web requests: a stalled database costs a request seconds, not the site.

Without them one ``LOCK TABLE events_meeting`` held for 45 s froze every gunicorn worker until
gunicorn killed them (HTML 500s from the API, pages and feeds alike, ``/healthz`` unanswered). Web
processes therefore set, on every new PostgreSQL connection,

- ``lock_timeout`` (``VISITDESK_DB_LOCK_TIMEOUT``, default 5 s): how long a statement waits for a
  lock someone else holds;
- ``statement_timeout`` (``VISITDESK_DB_STATEMENT_TIMEOUT``, default 15 s): how long one statement
  may run at all.

Both lie below gunicorn's worker timeout (``VISITDESK_WEB_TIMEOUT``); the error PostgreSQL raises
then answers 503 with ``Retry-After`` (``core.errors.is_database_stall``; pages and feeds through
``config.middleware.DatabaseStallMiddleware``, the API in its JSON shape through ``api.base.exception_handler``).
Only the web entry point (``config/wsgi.py``) installs them: the Celery worker's tasks are bounded by their own time limits and are retried, and
migrations and management commands must be able to wait for the locks they need.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.signals import connection_created


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _set_web_timeouts(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
            [_milliseconds(settings.VISITDESK_DB_STATEMENT_TIMEOUT), _milliseconds(settings.VISITDESK_DB_LOCK_TIMEOUT)],
        )


def use_web_timeouts() -> None:
    """Every database connection this process opens from now on gets the web timeouts."""
    connection_created.connect(_set_web_timeouts, dispatch_uid="visitdesk-web-db-timeouts")
