"""Coalesced render work: at most one "render what is stale" task waits in the queue at any time.

Rendering is idempotent and finds its own work (``fragments.stale_ids``: a fragment is stale when
its meeting's ``updated_at`` moved), so a task needs no list of meetings — only a reason to run.
Each committed schedule change, and each feed read that finds too much stale work, asks for one
(``claim``); while one is already waiting the ask costs one UPDATE that matches nothing and queues
nothing. The task releases the claim as it starts (``release``), *before* it looks for stale
fragments: a change committed after that moment queues the next task, one committed before it is
seen by this one. So 10,000 meetings created through the API cost a handful of render tasks of a
few hundred meetings each instead of 10,000 tasks of one, and subscribers polling a feed that is
still being prepared add nothing to the queue.

The claim lives in the database (one row), so web and worker processes agree on it whatever their
cache; a claim older than ``CLAIM_EXPIRES`` is treated as lost (the message never arrived, the
worker died before starting it) and may be taken again. Beat's ``calendars.render_stale`` every ten
minutes is the safety net beyond that.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import RenderRequest

#: After this long a claim whose task never started is considered lost.
CLAIM_EXPIRES = timedelta(minutes=2)
ROW = 1


def claim() -> bool:
    """Take the right to queue the render task; False while a queued one has not started yet."""
    now = timezone.now()
    free = Q(queued_at__isnull=True) | Q(queued_at__lt=now - CLAIM_EXPIRES)
    if RenderRequest.objects.filter(pk=ROW).filter(free).update(queued_at=now):
        return True
    if RenderRequest.objects.filter(pk=ROW).exists():
        return False
    try:  # first use (or a flushed test database): the row that holds the claim
        with transaction.atomic():
            RenderRequest.objects.create(pk=ROW, queued_at=now)
    except IntegrityError:
        return False  # created by a concurrent claimer, who queues the task
    return True


def release() -> None:
    """The task started (or could not be queued): the next change may queue another."""
    RenderRequest.objects.filter(pk=ROW).update(queued_at=None)


def is_claimed() -> bool:
    now = timezone.now()
    return RenderRequest.objects.filter(pk=ROW, queued_at__gte=now - CLAIM_EXPIRES).exists()
