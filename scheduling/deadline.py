"""One clock for a whole solve: from the request to the answer.

A ``Deadline`` is started where the request is taken (``batch_solve``, ``proposal_create``) and handed
down to the solver, so reading the busy times, building the model, the greedy schedule, every CP-SAT
stage and writing the explanations all draw on the same ``time_limit_seconds``; a stage asks how
much is left instead of assuming it has the whole limit.
"""

from __future__ import annotations

import time


class OutOfTime(Exception):
    """Raised inside the solver when the deadline passed in a step that can be dropped (the CP-SAT model)."""


class Deadline:
    """``seconds`` from ``started`` (``time.monotonic``; now by default)."""

    def __init__(self, seconds: float, *, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.seconds = max(0.0, seconds)
        self.at = self.started + self.seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        """Raise ``OutOfTime`` once the deadline has passed."""
        if self.expired():
            raise OutOfTime

    def less(self, seconds: float) -> Deadline:
        """The same clock, ``seconds`` earlier (the search's end, leaving time to write the answer)."""
        return _Earlier(self, seconds)

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:.3f} s, {self.remaining():.3f} s left)"


class _Earlier(Deadline):
    """A deadline ``seconds`` before ``parent``'s that also passes whenever ``parent`` does."""

    def __init__(self, parent: Deadline, seconds: float) -> None:
        super().__init__(max(0.0, parent.seconds - seconds), started=parent.started)
        self.parent = parent

    def remaining(self) -> float:
        return min(super().remaining(), self.parent.remaining())

    def expired(self) -> bool:
        return self.parent.expired() or super().expired()
