"""Signal receivers: they only wake the dispatcher, which re-reads the truth from the database.

A lost or doubled nudge therefore changes when mail goes out, never what goes out.
"""

from __future__ import annotations

from collections.abc import Iterable

from .tasks import nudge_after_commit


def on_schedule_changed(sender: object, meeting_ids: Iterable[int] = (), **kwargs: object) -> None:
    nudge_after_commit()


def on_visit_changed(sender: object, visit_id: int | None = None, event: str = "", **kwargs: object) -> None:
    nudge_after_commit()
