"""Celery tasks of the fragment store: thin, ids in; the work is ``calendars.fragments``."""

from __future__ import annotations

import logging

from celery import shared_task

from core.enqueue import PausingEnqueuer

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


#: Queued from requests, best effort (``core.enqueue``): the next feed read or beat's ``render_stale`` catches up.
RENDERS = PausingEnqueuer("calendars.render_fragments")


def render_fragments_later(meeting_ids: list[int]) -> None:
    """Queue ``render_fragments``; never raises. With the broker down, the next feed read (bounded)
    or beat's ``render_stale`` renders them instead."""
    RENDERS(lambda: render_fragments.apply_async((sorted(set(meeting_ids)),), retry=False))

