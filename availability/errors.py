from __future__ import annotations

from typing import Any

from core.errors import DomainError


class AvailabilityConflict(DomainError):
    """A blocking participant is outside working hours, absent or busy elsewhere, or a room is closed.

    ``unavailable`` lists each problem; private details (an absence's reason) only when the caller may
    see them. Coordinators may book anyway with ``override_availability``.
    """

    code = "availability_conflict"
    status = 409

    def __init__(self, message: str, *, unavailable: list[dict[str, Any]]) -> None:
        super().__init__(message, detail={"unavailable": unavailable})
        self.unavailable = unavailable


class FeedError(DomainError):
    """An external calendar could not be fetched or read; the message is safe to show its owner."""

    code = "feed_error"
    status = 502
