from __future__ import annotations

from typing import Any

from directory.errors import DomainError


class ScheduleConflict(DomainError):
    """A room or a person would be in two overlapping scheduled meetings."""

    code = "schedule_conflict"
    status = 409

    def __init__(self, message: str, *, conflicts: list[dict[str, Any]]):
        super().__init__(message, detail={"conflicts": conflicts})
        self.conflicts = conflicts


class MeetingCancelled(DomainError):
    code = "meeting_cancelled"
    status = 409
