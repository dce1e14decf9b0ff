"""Signal receivers: they only wake the dispatcher, which re-reads the truth from the database.

A lost or doubled nudge therefore changes when mail goes out, never what goes out.
"""

from __future__ import annotations

from .tasks import nudge_after_commit


def on_schedule_changed(sender, meeting_ids=(), **kwargs) -> None:
    nudge_after_commit()


def on_visit_changed(sender, visit_id=None, event="", **kwargs) -> None:
    nudge_after_commit()
