"""Celery tasks: thin, ids in. Observing is ``services.observe``, sending ``delivery``."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from core.enqueue import PausingEnqueuer

from . import delivery, services

#: Beat's sweep looks this far back for changes a lost signal did not report.
SWEEP_WINDOW = timedelta(minutes=15)


@shared_task(name="webhooks.observe")
def observe(meeting_ids: list[int] | None = None, visit_ids: list[int] | None = None) -> dict[str, int]:
    """A change was committed: emit what it owes and send it now (the latency that matters)."""
    emitted = services.observe(meeting_ids=meeting_ids or (), visit_ids=visit_ids or ())
    stats = delivery.dispatch_due() if emitted else {}
    return {"emitted": emitted, **stats}


@shared_task(name="webhooks.dispatch_due")
def dispatch_due() -> dict[str, int]:
    """Every minute from beat: the sweep for lost signals, retries that came due, stuck rows."""
    delivery.recover_stuck()
    emitted = services.observe_recent(within=SWEEP_WINDOW)
    stats = delivery.dispatch_due()
    if stats.get("budget_spent"):
        nudge_dispatcher()
    return {"emitted": emitted, **stats}


OBSERVE = PausingEnqueuer("webhooks.observe")
NUDGES = PausingEnqueuer("webhooks.dispatch_due")


def queue_observe(*, meeting_ids: list[int] | None = None, visit_ids: list[int] | None = None) -> None:
    """Best effort (called after commit): with the broker down, beat's sweep finds the change."""
    OBSERVE(lambda: observe.apply_async(kwargs={"meeting_ids": meeting_ids or [], "visit_ids": visit_ids or []},
                                        retry=False))


def nudge_dispatcher() -> None:
    NUDGES(lambda: dispatch_due.apply_async(retry=False))
