"""The context of a change: who made it, and through which request or task.

pghistory links every event row to a ``pghistory.Context`` row whose ``metadata`` this module fills:

- a web request (``history.middleware``): ``user`` (the account's id, also when DRF authenticates a
  token only inside the view), ``url``, ``via`` (``api``, ``admin`` or ``web``) and the request's
  ``request_id`` — the same id django-structlog writes on the request's log lines;
- a Celery task (the signals below): ``via`` = ``worker``, the ``task`` name and id, and the
  ``request_id`` of the request that queued it (django-structlog carries it in the task's headers),
  so a reminder sent or a meeting changed by the worker still says whose click started it;
- anything else (``manage.py``, a shell): no context, the event says only what and when.

pghistory sends its context with every SQL statement as PostgreSQL settings; on SQLite nothing is
entered (the statements would fail there, and SQLite has no triggers to read them).
"""

from __future__ import annotations

from typing import Any

import pghistory
from celery.signals import task_postrun, task_prerun
from django.db import connection
from pghistory import runtime as pghistory_runtime

#: The task's own pghistory context while it runs (entered in prerun, left in postrun).
_TASK_CONTEXT_ATTR = "_visitdesk_history_context"


def recording() -> bool:
    """True when changes are recorded: the database is PostgreSQL (the triggers are PostgreSQL's)."""
    return connection.vendor == "postgresql"


def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or not recording() or hasattr(pghistory_runtime._tracker, "value"):
        # Eager tasks run inside the request that queued them: its context already says who.
        return
    headers = getattr(task.request, "__django_structlog__", None) or {}
    ctx = pghistory.context(via="worker", task=task.name, task_id=task_id, request_id=headers.get("request_id"))
    ctx.__enter__()  # type: ignore[no-untyped-call]  # left in _task_finished
    setattr(task.request, _TASK_CONTEXT_ATTR, ctx)


def _task_finished(task: Any = None, **_: Any) -> None:
    ctx = getattr(getattr(task, "request", None), _TASK_CONTEXT_ATTR, None)
    if ctx is not None:
        ctx.__exit__(None, None, None)
        setattr(task.request, _TASK_CONTEXT_ATTR, None)


def connect_task_signals() -> None:
    task_prerun.connect(_task_started, weak=False, dispatch_uid="history-task-context")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="history-task-context-end")
