"""Signal receivers: they only queue ``webhooks.observe`` with the ids; the worker re-reads the truth.

The signals are sent after commit (``events.signals``, ``visits.signals``), so the worker sees the
change. A lost nudge is found by beat's sweep; a doubled one emits nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import WebhookEndpoint
from .tasks import queue_observe


def _listened() -> bool:
    """Nothing is queued while no endpoint exists (most installations): one indexed EXISTS."""
    return WebhookEndpoint.objects.exists()


def on_schedule_changed(sender: object, meeting_ids: Iterable[int] = (), **kwargs: object) -> None:
    if _listened():
        queue_observe(meeting_ids=sorted(set(meeting_ids)))


def on_visit_changed(sender: object, visit_id: int | None = None, event: str = "", **kwargs: object) -> None:
    if visit_id is not None and event != "message" and _listened():
        queue_observe(visit_ids=[visit_id])
