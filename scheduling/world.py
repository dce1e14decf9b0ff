"""What every solver ``Problem`` reads from the stored world besides busy time: day bounds, rooms, names.

Batch requests (``scheduling.batch``) and visit proposals (``scheduling.proposals``) both build their
problem from these, in a constant number of queries (people's names, rooms with their venue, and one
``busy_intervals`` call for everyone involved in ``scheduling.busy``), so a proposal over thousands of
existing meetings costs one interval query, not one per person. ``check_frame`` is the shared check of
a problem's frame (time zone, days, day bounds, grid).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time

from core.errors import ValidationFailed
from core.periods import check_period
from core.timezones import check_timezone
from directory.models import Person
from events.models import Room

from .problem import RoomSpec

MAX_DAYS = 14
MAX_SPAN_DAYS = 92
#: A batch at most this big (the solver answers 400 meetings inside a 1-s limit; docs/performance.md).
MAX_MEETINGS = 400


def day_bounds(days: Sequence[date], start: time, end: time, tz: str) -> tuple[tuple[datetime, datetime], ...]:
    zone = zoneinfo.ZoneInfo(tz)
    return tuple((datetime.combine(d, start, tzinfo=zone), datetime.combine(d, end, tzinfo=zone)) for d in days)


def check_frame(*, tz: str, days: Sequence[date], day_start: time, day_end: time, granularity: int) -> None:
    check_timezone(tz)
    if not days:
        raise ValidationFailed("Give at least one day.", field="days")
    if len(days) > MAX_DAYS:
        raise ValidationFailed(f"At most {MAX_DAYS} days at once.", field="days")
    if days and (max(days) - min(days)).days > MAX_SPAN_DAYS:
        raise ValidationFailed(f"The days must lie within {MAX_SPAN_DAYS} days of each other.", field="days")
    check_period(day_start, day_end, field="day_end", message="The day must end after it starts.")
    if not 5 <= granularity <= 120 or (60 % granularity and granularity % 60):
        raise ValidationFailed("Use a grid of 5, 10, 15, 20, 30 or 60 minutes.", field="granularity_minutes")


def rooms_for(ids: Iterable[int]) -> dict[int, Room]:
    ids = list(ids)
    found = {r.pk: r for r in Room.objects.filter(pk__in=ids).select_related("venue")}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(f"Room {missing[0]} does not exist.", field="rooms")
    return found


def room_specs(rooms: dict[int, Room]) -> tuple[RoomSpec, ...]:
    # A venue is a building: moving between venues needs the walking gap.
    return tuple(RoomSpec(id=r.pk, capacity=r.capacity, name=r.name, building=str(r.venue_id))
                 for r in sorted(rooms.values(), key=lambda r: (r.venue_id, r.name, r.pk)))


def names_of(ids: Iterable[int], *, field_name: str = "meetings") -> dict[int, str]:
    ids = set(ids)
    found = dict(Person.objects.filter(pk__in=ids).values_list("pk", "name"))
    missing = sorted(ids - set(found))
    if missing:
        raise ValidationFailed(f"Person {missing[0]} does not exist.", field=field_name)
    return found
