"""The one place scheduling asks when people and rooms are busy (``availability.selectors.busy_intervals``).

Working hours, absences, imported busy times, room closures and bookable hours, and every scheduled
meeting all arrive as plain intervals, which the solver treats as fixed busy time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from availability.selectors import busy_intervals
from events.models import Meeting

Interval = tuple[datetime, datetime]


def busy_for(
    *, people: Iterable[int], rooms: Iterable[int], start: datetime, end: datetime, exclude_meetings: Iterable[int] = ()
) -> tuple[dict[int, list[Interval]], dict[int, list[Interval]]]:
    busy = busy_intervals(people=people, rooms=rooms, start=start, end=end, exclude_meetings=exclude_meetings)
    return dict(busy.people), dict(busy.rooms)


def with_programme(
    busy_people: dict[int, list[Interval]], *, visit_id: int, delegation: Iterable[int], start: datetime,
    end: datetime, exclude_meetings: Iterable[int] = (),
) -> dict[int, list[Interval]]:
    """Add the visit's scheduled programme meetings as busy time for every delegation member.

    The delegation travels together: a programme meeting booked without listing them (a welcome
    entered in the admin with the hosts only) still takes their time, so a proposal must not put
    anything for them beside it. ``exclude_meetings`` are the proposal's own bookings.
    """
    spans = list(
        Meeting.objects.filter(programme_slot__visit_id=visit_id, status=Meeting.Status.SCHEDULED,
                               starts_at__lt=end, ends_at__gt=start)
        .exclude(pk__in=list(exclude_meetings)).values_list("starts_at", "ends_at")
    )
    if not spans:
        return busy_people
    out = dict(busy_people)
    for person in delegation:
        out[person] = sorted([*out.get(person, []), *spans])
    return out
