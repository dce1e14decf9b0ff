"""The one place scheduling asks when people and rooms are busy (``availability.selectors.busy_intervals``).

Working hours, absences, imported busy times, room closures and bookable hours, and every scheduled
meeting all arrive as plain intervals, which the solver treats as fixed busy time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from availability.selectors import busy_intervals

Interval = tuple[datetime, datetime]


def busy_for(
    *, people: Iterable[int], rooms: Iterable[int], start: datetime, end: datetime, exclude_meetings: Iterable[int] = ()
) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]]]:
    busy = busy_intervals(people=people, rooms=rooms, start=start, end=end, exclude_meetings=exclude_meetings)
    return dict(busy.people), dict(busy.rooms)
