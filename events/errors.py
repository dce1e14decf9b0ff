from __future__ import annotations

from typing import Any

from core.errors import DomainError


class ScheduleConflict(DomainError):
    """A room or a person would be in two overlapping scheduled meetings."""

    code = "schedule_conflict"
    status = 409

    def __init__(self, message: str, *, conflicts: list[dict[str, Any]], meetings: list[Any] | None = None):
        super().__init__(message, detail={"conflicts": conflicts})
        self.conflicts = conflicts
        #: the conflicting Meeting objects (not serialised): lets a form name them in local time
        self.meetings = meetings or []


class MeetingCancelled(DomainError):
    code = "meeting_cancelled"
    status = 409
