"""Signal receivers: queue work for the worker, nothing else (the work re-reads the truth)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .tasks import render_stale_soon


def on_schedule_changed(sender: object, meeting_ids: Iterable[int] = (), **kwargs: Any) -> None:
    """After commit (``events.signals``): have the worker render what is stale, coalesced with other changes."""
    if meeting_ids:
        render_stale_soon()
