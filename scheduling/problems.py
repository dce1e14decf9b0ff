"""From the stored world to a solver ``Problem`` and back: batch requests and a visit's programme.

Everything the solver needs is read here in a constant number of queries (people's names, rooms
with their venue, one ``busy_intervals`` call for everyone involved), so a proposal over thousands of
existing meetings costs one interval query, not one per person.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core.errors import ValidationFailed
from directory.models import Person
from events.models import Room

from .busy import busy_for
from .problem import LunchRule, MeetingSpec, Pin, Problem, RoomSpec

MAX_DAYS = 14
MAX_SPAN_DAYS = 92
MAX_MEETINGS = 300


def day_bounds(days: Sequence[date], start: time, end: time, tz: str) -> tuple[tuple[datetime, datetime], ...]:
    zone = zoneinfo.ZoneInfo(tz)
    return tuple((datetime.combine(d, start, tzinfo=zone), datetime.combine(d, end, tzinfo=zone)) for d in days)


def check_frame(*, tz: str, days: Sequence[date], day_start: time, day_end: time, granularity: int) -> None:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{tz!r} is not an IANA time zone name.", field="timezone") from None
    if not days:
        raise ValidationFailed("Give at least one day.", field="days")
    if len(days) > MAX_DAYS:
        raise ValidationFailed(f"At most {MAX_DAYS} days at once.", field="days")
    if days and (max(days) - min(days)).days > MAX_SPAN_DAYS:
        raise ValidationFailed(f"The days must lie within {MAX_SPAN_DAYS} days of each other.", field="days")
    if day_end <= day_start:
        raise ValidationFailed("The day must end after it starts.", field="day_end")
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


# --- batch requests (POST /scheduling/solve/) ----------------------------------------------------


@dataclass(frozen=True)
class BatchMeeting:
    key: str
    title: str
    duration_minutes: int
    required: tuple[int, ...] = ()
    optional: tuple[int, ...] = ()
    min_capacity: int | None = None
    pinned_starts_at: datetime | None = None
    pinned_room: int | None = None


@dataclass(frozen=True)
class BatchRequest:
    timezone: str
    days: tuple[date, ...]
    rooms: tuple[int, ...]
    meetings: tuple[BatchMeeting, ...]
    day_start: time = time(8, 0)
    day_end: time = time(18, 0)
    granularity_minutes: int = 15
    respect_existing: bool = True
    time_limit_seconds: float = 10.0
    seed: int = 0
    delegation: tuple[int, ...] = ()
    lunch: LunchRule | None = field(default_factory=LunchRule)
    building_gap_minutes: int = 10


def batch_problem(request: BatchRequest) -> Problem:
    check_frame(tz=request.timezone, days=request.days, day_start=request.day_start, day_end=request.day_end,
                granularity=request.granularity_minutes)
    if not request.meetings:
        raise ValidationFailed("Give at least one meeting.", field="meetings")
    if len(request.meetings) > MAX_MEETINGS:
        raise ValidationFailed(f"At most {MAX_MEETINGS} meetings at once.", field="meetings")
    keys = [m.key for m in request.meetings]
    if len(set(keys)) != len(keys):
        raise ValidationFailed("Meeting keys must be unique.", field="meetings")
    rooms = rooms_for(request.rooms)
    zone, days_set = zoneinfo.ZoneInfo(request.timezone), set(request.days)
    for index, m in enumerate(request.meetings):
        if set(m.required) & set(m.optional):
            raise ValidationFailed("A person cannot be both required and optional.", field=f"meetings[{index}].optional")
        if m.pinned_starts_at is not None and m.pinned_starts_at.astimezone(zone).date() not in days_set:
            raise ValidationFailed("A pinned start must fall on one of the days.", field=f"meetings[{index}].pinned")
        if m.pinned_room is not None and m.pinned_room not in rooms:
            raise ValidationFailed("The pinned room must be one of the request's rooms.", field=f"meetings[{index}].pinned")
    people = {p for m in request.meetings for p in (*m.required, *m.optional)} | set(request.delegation)
    names = names_of(people)
    days = day_bounds(sorted(set(request.days)), request.day_start, request.day_end, request.timezone)
    busy_people: dict[int, list[tuple[datetime, datetime]]] = {}
    busy_rooms: dict[int, list[tuple[datetime, datetime]]] = {}
    if request.respect_existing:
        pins = [m.pinned_starts_at for m in request.meetings if m.pinned_starts_at]
        start = min([days[0][0], *pins])
        end = max([days[-1][1], *(p + timedelta(days=1) for p in pins)])
        busy_people, busy_rooms = busy_for(people=people, rooms=rooms, start=start, end=end)
    return Problem(
        days=days,
        rooms=room_specs(rooms),
        meetings=tuple(
            MeetingSpec(
                key=m.key, title=m.title, duration_minutes=m.duration_minutes, required=tuple(m.required),
                optional=tuple(m.optional), min_capacity=m.min_capacity,
                pinned=Pin(m.pinned_starts_at, m.pinned_room) if m.pinned_starts_at else None,
            )
            for m in request.meetings
        ),
        granularity_minutes=request.granularity_minutes,
        timezone=request.timezone,
        busy_people=busy_people,
        busy_rooms=busy_rooms,
        people_names=names,
        delegation=tuple(request.delegation),
        lunch=request.lunch,
        building_gap_minutes=request.building_gap_minutes,
        time_limit_seconds=request.time_limit_seconds,
        seed=request.seed,
    )
