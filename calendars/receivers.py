"""Signal receivers: queue work for the worker, nothing else (the work re-reads the truth)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .tasks import render_fragments_later


def on_schedule_changed(sender: object, meeting_ids: Iterable[int] = (), **kwargs: Any) -> None:
    """After commit (``events.signals``): render the changed meetings' fragments in the worker."""
    if meeting_ids:
        render_fragments_later(list(meeting_ids))
