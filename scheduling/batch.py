"""Batch scheduling: solve a list of meetings against the stored world (books nothing), then book the result.

``batch_solve`` answers ``POST /scheduling/solve/``: the request names the days, rooms and meetings
(solver ``MeetingSpec`` values, pins included); existing meetings, absences and hours are busy time.
``batch_book`` answers ``POST /scheduling/book/``: every meeting or none, each re-checked against the
world as it is now (``scheduling.booking``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.db import transaction

from availability.intervals import Interval
from core.errors import ValidationFailed
from core.timezones import check_timezone
from events.models import Meeting
from visits import booking
from visits.models import Visit

from .booking import BookingSpec
from .busy import busy_for
from .deadline import Deadline
from .problem import LunchRule, MeetingSpec, Problem, ProblemError, Solution
from .search import solve
from .world import MAX_MEETINGS, check_frame, day_bounds, names_of, room_specs, rooms_for


@dataclass(frozen=True)
class BatchRequest:
    timezone: str
    days: tuple[date, ...]
    rooms: tuple[int, ...]
    #: The solver's own meeting type: a batch meeting is exactly what the solver places (``pinned`` included).
    meetings: tuple[MeetingSpec, ...]
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
        if m.pinned is not None and m.pinned.starts_at.astimezone(zone).date() not in days_set:
            raise ValidationFailed("A pinned start must fall on one of the days.", field=f"meetings[{index}].pinned")
        if m.pinned is not None and m.pinned.room is not None and m.pinned.room not in rooms:
            raise ValidationFailed("The pinned room must be one of the request's rooms.", field=f"meetings[{index}].pinned")
    people = {p for m in request.meetings for p in (*m.required, *m.optional)} | set(request.delegation)
    names = names_of(people)
    days = day_bounds(sorted(set(request.days)), request.day_start, request.day_end, request.timezone)
    busy_people: dict[int, list[Interval]] = {}
    busy_rooms: dict[int, list[Interval]] = {}
    if request.respect_existing:
        pins = [m.pinned.starts_at for m in request.meetings if m.pinned]
        start = min([days[0][0], *pins])
        end = max([days[-1][1], *(p + timedelta(days=1) for p in pins)])
        busy_people, busy_rooms = busy_for(people=people, rooms=rooms, start=start, end=end)
    return Problem(
        days=days,
        rooms=room_specs(rooms),
        meetings=tuple(request.meetings),
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


def batch_solve(*, request: BatchRequest, deadline: Deadline | None = None) -> Solution:
    """Solve a batch of meetings against the stored world; books nothing.

    ``time_limit_seconds`` covers the whole call (reading busy times, the model, the search, the
    explanations): the clock starts here unless the caller hands in one started earlier."""
    deadline = deadline or Deadline(request.time_limit_seconds)
    problem = batch_problem(request)
    try:
        return solve(problem, deadline=deadline)
    except ProblemError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


@transaction.atomic
def batch_book(*, bookings: Sequence[BookingSpec], timezone: str, visit: Visit | None = None) -> list[Meeting]:
    """Create every meeting or none: each is re-checked against the world as it is now (``visits.booking``)."""
    return booking.programme_book(bookings=bookings, timezone=check_timezone(timezone), visit=visit)
