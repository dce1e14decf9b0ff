"""Celery tasks: thin wrappers that load rows by id and call the services.

The beat task only claims due calendars and fans out one task per calendar, so a slow or broken
feed holds up one worker slot for at most one import's bound (the fetch deadline plus the parse
child's CPU limit) and never the others. Web requests never import: they queue ``sync_calendar``
through ``services.external_calendar_sync_request``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)
#: How often each external calendar is fetched.
SYNC_EVERY = timedelta(minutes=30)


@shared_task(name="availability.sync_due_calendars", bind=True)
def sync_due_calendars(self: Task[[], int]) -> int:
    """Fan out on the queue this task came from, so whichever workers serve beat's queue fetch."""
    ids = services.external_calendars_claim_due(now=timezone.now(), every=SYNC_EVERY)
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    for pk in ids:
        sync_calendar.apply_async((pk,), queue=queue)  # type: ignore[arg-type]  # None: the default queue
    return len(ids)


@shared_task(name="availability.sync_calendar")
def sync_calendar(calendar_id: int) -> None:
    services.external_calendar_sync_queued(calendar_id=calendar_id)


def sync_calendar_later(calendar_id: int) -> bool:
    """Queue ``sync_calendar``; False (logged, never raised) if the broker cannot be reached — the
    caller's write has committed and must keep its success answer."""
    try:
        sync_calendar.apply_async((calendar_id,), retry=False)
    except Exception:
        logger.warning("could not queue the sync of calendar %s", calendar_id, exc_info=True)
        return False
    return True
