from __future__ import annotations

from typing import Any

from core.errors import DomainError


class AvailabilityConflict(DomainError):
    """A blocking participant is outside working hours, absent or busy elsewhere, or a room is closed.

    ``unavailable`` lists each problem; private details (an absence's reason) only when the caller may
    see them. Coordinators may book anyway: the pages' "Book anyway" box, the API's
    ``override_availability`` (the error's ``detail.book_anyway`` says so to API clients).
    """

    code = "availability_conflict"
    status = 409

    def __init__(self, message: str, *, unavailable: list[dict[str, Any]]) -> None:
        super().__init__(message, detail={
            "unavailable": unavailable,
            # The machine-readable way round, for API clients (the message speaks of the page's box).
            "book_anyway": {"field": "override_availability", "value": True, "who": "coordinators"},
        })
        self.unavailable = unavailable


class FeedError(DomainError):
    """An external calendar could not be fetched or read; the message is safe to show its owner."""

    code = "feed_error"
    status = 502
