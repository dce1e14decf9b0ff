"""Celery tasks of the fragment store: thin, ids in; the work is ``calendars.fragments``."""

from __future__ import annotations

import logging
import time

from celery import shared_task

from . import fragments

logger = logging.getLogger(__name__)


@shared_task(name="calendars.render_fragments")
def render_fragments(meeting_ids: list[int]) -> int:
    """Render on write: the fragments of meetings that just changed (queued after commit)."""
    return fragments.render(meeting_ids)


@shared_task(name="calendars.render_stale")
def render_stale() -> int:
    """Safety net on beat: anything a lost message or a bulk import left stale in the feed window."""
    return fragments.render_all_stale()


#: After a failed enqueue, further ones from this process are skipped for this long (as
#: ``notifications.tasks.nudge_dispatcher``): with the broker down each attempt would block its request.
PAUSE_SECONDS = 30
_paused_until = 0.0


def render_fragments_later(meeting_ids: list[int]) -> None:
    """Queue ``render_fragments``; never raises. With the broker down, the next feed read (bounded)
    or beat's ``render_stale`` renders them instead."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return
    try:
        render_fragments.apply_async((sorted(set(meeting_ids)),), retry=False)
    except Exception:
        _paused_until = time.monotonic() + PAUSE_SECONDS
        logger.warning("could not queue fragment rendering for %d meetings", len(meeting_ids), exc_info=True)
