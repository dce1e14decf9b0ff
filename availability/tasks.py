"""Celery tasks: thin wrappers that load rows by id and call the services.

The beat task only claims due calendars and fans out one task per calendar, so a slow or broken
feed holds up one worker slot for at most the fetch timeout and never the others.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.utils import timezone

from . import services
from .models import ExternalCalendar

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
    calendar = ExternalCalendar.objects.select_related("person").filter(pk=calendar_id).first()
    if calendar is None:
        return
    try:
        services.external_calendar_sync(calendar=calendar)
    except Exception:  # one broken feed must never take the worker's other feeds with it
        logger.exception("busy-time import of calendar %s failed", calendar_id)
        ExternalCalendar.objects.filter(pk=calendar_id).update(last_error="Internal error while importing.")
