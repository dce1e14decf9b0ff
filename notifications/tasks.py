"""Celery tasks: thin, named, ids and numbers in. The work is in ``dispatch``.

There are deliberately no ETA/countdown tasks: reminders are outbox rows with a due time, found
by the every-minute dispatcher. Delayed tasks on Redis are redelivered after the visibility timeout
and held in worker memory (celery #2481, #7009, #2218).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.db import transaction

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


#: After a failed nudge, further nudges from this process are skipped for this long: with the broker
#: down, each attempt blocks its request for seconds (the Redis client's own retries) for nothing.
NUDGE_PAUSE_SECONDS = 30
_nudges_paused_until = 0.0


def nudge_dispatcher() -> None:
    """Ask for a dispatch run soon. Best effort: if the broker is down, beat's next run catches up.

    Runs after a write committed, so it never raises: the write has happened and its caller gets
    its success code; the failure is logged and the mail goes out with beat's next tick.
    """
    global _nudges_paused_until
    if time.monotonic() < _nudges_paused_until:
        logger.info("broker recently unreachable: nudge skipped, the beat schedule will pick it up")
        return
    try:
        dispatch_due.apply_async(retry=False)
    except Exception:
        _nudges_paused_until = time.monotonic() + NUDGE_PAUSE_SECONDS
        logger.warning("could not enqueue notifications.dispatch_due; the beat schedule will pick it up", exc_info=True)


def nudge_after_commit() -> None:
    """Enqueue only once the change is committed, so the worker reads the new state."""
    transaction.on_commit(nudge_dispatcher, robust=True)
