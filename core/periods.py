"""The one "ends after it starts" rule for every period: meetings, absences, closures, solver frames.

Stated once so that the services, the API's serializers and the pages' forms refuse the same
periods with the same words (a period that ends when it starts is empty, and refused too).
"""

from __future__ import annotations

from datetime import datetime, time

from .errors import ValidationFailed

ENDS_BEFORE_START = "It must end after it starts."


def ends_after_start(starts: datetime | time, ends: datetime | time) -> bool:
    """True when [starts, ends) is a non-empty period."""
    return ends > starts  # type: ignore[operator]  # both datetimes or both times


def check_period(starts: datetime | time, ends: datetime | time, *, field: str = "ends_at",
                 message: str = ENDS_BEFORE_START) -> None:
    """Raise a field error on ``field`` unless the period ends after it starts."""
    if not ends_after_start(starts, ends):
        raise ValidationFailed(message, field=field)
