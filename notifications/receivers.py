"""Signal receivers: they note what changed for the next incremental reconcile and wake the
dispatcher, which re-reads the truth from the database.

A lost or doubled nudge therefore changes when mail goes out, never what goes out: the reconciler
also finds changes by their ``updated_at`` and makes a full pass every few minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .reconcile import mark_dirty
from .tasks import nudge_after_commit

logger = logging.getLogger(__name__)


def _note(*, meeting_ids: Iterable[int] = (), visit_ids: Iterable[int] = ()) -> None:
    """Best effort, like the nudge: the change is committed and the watermark or the next full pass
    finds it anyway."""
    try:
        mark_dirty(meeting_ids=meeting_ids, visit_ids=visit_ids)
    except Exception:
        logger.warning("could not note changed meetings %s / visits %s for the reconciler",
                       list(meeting_ids), list(visit_ids), exc_info=True)


def on_schedule_changed(sender: object, meeting_ids: Iterable[int] = (), **kwargs: object) -> None:
    _note(meeting_ids=list(meeting_ids))
    nudge_after_commit()


def on_visit_changed(sender: object, visit_id: int | None = None, event: str = "", **kwargs: object) -> None:
    if visit_id is not None:
        _note(visit_ids=[visit_id])
    nudge_after_commit()
