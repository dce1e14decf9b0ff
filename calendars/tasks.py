"""Celery tasks of the fragment store: thin; the work is ``calendars.fragments``.

Render work is coalesced (``calendars.render_queue``): every committed change and every feed read
that finds many stale entries asks for *one* ``calendars.render_stale`` task, which renders what is
stale when it runs; while one is queued, asking again queues nothing. Tasks are bounded
(``MAX_PER_TASK`` fragments, a few seconds) and queue their own continuation, so a long render never
holds a worker process for minutes; they run on the ``calendars`` queue (``config/celery.py``), apart
from mail.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from core.enqueue import PausingEnqueuer

from . import fragments, render_queue

logger = logging.getLogger(__name__)

#: Seconds a queued render waits before it runs, so a burst of commits is rendered as one batch.
COALESCE_SECONDS = 2
#: Fragments one task renders at most (about 1.5 ms each) before it queues its continuation.
MAX_PER_TASK = 2000


@shared_task(name="calendars.render_stale")
def render_stale() -> int:
    """Render what is stale in the feed window (coalesced on write; beat's safety net every ten minutes)."""
    render_queue.release()  # from now on a new change queues the next task; this one sees all before it
    stale = fragments.stale_ids()
    rendered = fragments.render(stale[:MAX_PER_TASK])
    if len(stale) > MAX_PER_TASK:
        render_stale_soon(countdown=0)
    return rendered


@shared_task(name="calendars.render_fragments")
def render_fragments(meeting_ids: list[int]) -> int:
    """The fragments of given meetings. Before coalescing each commit queued one of these; kept so
    messages already queued by an older release still run."""
    return fragments.render(meeting_ids)


#: Queued from requests, best effort (``core.enqueue``): the next feed read or beat's ``render_stale`` catches up.
RENDERS = PausingEnqueuer("calendars.render_stale")


def render_stale_soon(*, countdown: float = COALESCE_SECONDS) -> bool:
    """Queue one ``render_stale`` unless one is already waiting; never raises. True when this call queued it."""
    try:
        if not render_queue.claim():
            return False
    except DatabaseError:  # runs after a write committed: never turn that into an error
        logger.warning("could not claim the render task; beat's render_stale will pick the work up", exc_info=True)
        return False
    if RENDERS(lambda: render_stale.apply_async(countdown=countdown, retry=False)):
        return True
    render_queue.release()  # the broker is down: let a later change try again
    return False
