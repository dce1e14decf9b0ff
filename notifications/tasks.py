"""Celery tasks: thin, named, ids and numbers in. The work is in ``dispatch``.

There are deliberately no ETA/countdown tasks: reminders are outbox rows with a due time, found
by the every-minute dispatcher. Delayed tasks on Redis are redelivered after the visibility timeout
and held in worker memory (celery #2481, #7009, #2218).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction

from core.enqueue import PausingEnqueuer

from . import dispatch

logger = logging.getLogger(__name__)


@shared_task(name="notifications.dispatch_due")
def dispatch_due() -> dict[str, int]:
    stats = dispatch.dispatch_due()
    if stats.get("budget_spent"):
        nudge_dispatcher()  # a backlog continues at once instead of at beat's next tick
    return stats


@shared_task(name="notifications.recover_stuck")
def recover_stuck(older_than_seconds: int | None = None) -> int:
    older_than = dispatch.STUCK_AFTER if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    return dispatch.recover_stuck(older_than=older_than)


@shared_task(name="notifications.read_organizer_mailbox")
def read_organizer_mailbox() -> dict[str, int]:
    """Take calendar clients' answers from the organiser mailbox (nothing while it is not configured)."""
    from .mailbox import read_mailbox  # replies (imported by mailbox) nudges through this module

    return read_mailbox()


#: Nudges from a request are best effort: see ``core.enqueue``.
NUDGES = PausingEnqueuer("notifications.dispatch_due")


def nudge_dispatcher() -> None:
    """Ask for a dispatch run soon. Best effort: if the broker is down, beat's next run catches up.

    Runs after a write committed, so it never raises: the write has happened and its caller gets
    its success code; the failure is logged and the mail goes out with beat's next tick.
    """
    NUDGES(lambda: dispatch_due.apply_async(retry=False))


def nudge_after_commit() -> None:
    """Enqueue only once the change is committed, so the worker reads the new state."""
    transaction.on_commit(nudge_dispatcher, robust=True)
