"""Best-effort enqueueing from a request: after a broker failure, stop trying for a while.

A nudge to the worker (send mail now, render these calendar fragments) is queued after a write has
committed; the write's caller must get its success code whatever the broker does, and beat's next
run catches up with anything a lost nudge would have started. With Redis down, each attempt blocks
its request for seconds (the client's own retries) for nothing, so after one failure further
attempts from this process are skipped for ``pause_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PausingEnqueuer:
    """One per kind of nudge (each pauses on its own failures)."""

    def __init__(self, what: str, *, pause_seconds: float = 30) -> None:
        self.what = what
        self.pause_seconds = pause_seconds
        self.paused_until = 0.0

    def __call__(self, send: Callable[[], object]) -> bool:
        """Run ``send`` (an ``apply_async`` call) unless paused; never raises. True when it was queued."""
        if time.monotonic() < self.paused_until:
            logger.info("broker recently unreachable: %s skipped, the beat schedule will pick it up", self.what)
            return False
        try:
            send()
        except Exception:
            self.paused_until = time.monotonic() + self.pause_seconds
            logger.warning("could not enqueue %s; the beat schedule will pick it up", self.what, exc_info=True)
            return False
        return True
