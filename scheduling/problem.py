"""The solver's plain data: what a scheduling problem says (``Problem``) and what solving it answers (``Solution``).

Nothing here touches the database or OR-Tools. ``scheduling.world`` and ``scheduling.batch`` /
``scheduling.proposals`` build a ``Problem`` from the stored world; ``scheduling.search.solve`` answers it
(``scheduling.model`` states it for CP-SAT, ``scheduling.unplaced`` says why something is left out).
Plain values keep the engine testable with random instances and an independent checker, and let the
batch API and the visit proposal share it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from availability.intervals import Interval

# --- input ------------------------------------------------------------------------------------


def cores() -> int:
    """CP-SAT workers to use by default: the cores this process may run on (2 on the reference machine;
    more workers than cores only slice the same time thinner), at most 8."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(8, available))


@dataclass(frozen=True)
class RoomSpec:
    id: int
    capacity: int
    name: str = ""
    building: str = ""  # rooms in different buildings need ``building_gap_minutes`` between meetings


@dataclass(frozen=True)
class Pin:
    """The coordinator's decision: this start (and room, if given) or not at all."""

    starts_at: datetime
    room: int | None = None


@dataclass(frozen=True)
class MeetingSpec:
    key: str
    title: str
    duration_minutes: int
    required: tuple[int, ...] = ()
    optional: tuple[int, ...] = ()
    min_capacity: int | None = None
    #: Candidate rooms (None: every room of the problem). Ignored when ``needs_room`` is false.
    rooms: tuple[int, ...] | None = None
    needs_room: bool = True
    #: The meeting must lie inside one of these [start, end) windows (empty: any day of the problem).
    windows: tuple[Interval, ...] = ()
    pinned: Pin | None = None
    #: A lunch or a break: time off for ``Problem.breaks``, not time in meetings.
    rest: bool = False

    @property
    def seats(self) -> int:
        return self.min_capacity if self.min_capacity is not None else len(set(self.required) | set(self.optional))


@dataclass(frozen=True)
class LunchRule:
    """Everyone with a required meeting on a day should get ``minutes`` free inside [start, end) local time."""

    start: str = "11:30"
    end: str = "14:00"
    minutes: int = 45


@dataclass(frozen=True)
class BreakRule:
    """``people`` (a visit's delegation) sit in meetings for at most ``max_minutes`` without a pause of
    ``break_minutes``; ``fixed`` are meetings of theirs that are already booked (they count too).
    A meeting marked ``rest`` (lunch, a break) is a pause. Hard: a meeting that cannot keep it stays out."""

    people: tuple[int, ...]
    max_minutes: int = 150
    break_minutes: int = 15
    fixed: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Problem:
    days: tuple[Interval, ...]
    rooms: tuple[RoomSpec, ...]
    meetings: tuple[MeetingSpec, ...]
    granularity_minutes: int = 15
    timezone: str = "UTC"
    busy_people: Mapping[int, Sequence[Interval]] = field(default_factory=dict)
    busy_rooms: Mapping[int, Sequence[Interval]] = field(default_factory=dict)
    people_names: Mapping[int, str] = field(default_factory=dict)
    #: People whose rooms should change rarely (a visit's delegation).
    delegation: tuple[int, ...] = ()
    #: (before, after) meeting keys: ``after`` starts no earlier than ``before`` ends, when both are placed.
    precedence: tuple[tuple[str, str], ...] = ()
    lunch: LunchRule | None = None
    building_gap_minutes: int = 0
    #: The walking gap as a hard rule (a visit's programme) instead of a preference (batch solving).
    building_gap_hard: bool = False
    breaks: BreakRule | None = None
    #: (a, b) meeting keys that must be on the same day when both are placed (topics with one host).
    same_day: tuple[tuple[str, str], ...] = ()
    #: Days closed by a public holiday at the venue, with its name (for the explanations only).
    closed_days: Mapping[date, str] = field(default_factory=dict)
    time_limit_seconds: float = 10.0
    #: At most this long for the last stage (earlier starts, fewer rooms: minor); None: what is left.
    preference_seconds: float | None = None
    #: Deterministic work budget (CP-SAT "deterministic seconds"); None: only the wall-clock limit.
    work_limit: float | None = None
    seed: int = 0
    #: CP-SAT workers (the interleaved portfolio is deterministic for a given number).
    num_workers: int = field(default_factory=cores)


# --- output -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    key: str
    starts_at: datetime
    ends_at: datetime
    room: int | None


@dataclass(frozen=True)
class Unplaced:
    key: str
    #: In the language active while solving; ``reasons`` has it in every configured language.
    reason: str
    reasons: dict[str, str] = field(default_factory=dict, compare=False)
    #: Which rule blocked it: a ``visits.rules`` id (``available``, ``lunch``, ``breaks``…) or one of the
    #: solver's own (``capacity``, ``room-busy``, ``day-bounds``, ``programme-full``, ``time-limit``).
    rule: str = ""


@dataclass(frozen=True)
class Solution:
    #: optimal / feasible: every meeting placed (proved best on all levels, or not); infeasible: proved
    #: that not every meeting fits (the assignments are the most that do); unknown: time ran out first.
    status: str
    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    objective: dict[str, Any]
    solve_seconds: float
    first_complete_seconds: float | None = None

    def assignment(self, key: str) -> Assignment | None:
        return next((a for a in self.assignments if a.key == key), None)


class ProblemError(ValueError):
    """The problem itself is malformed (unknown room, duplicate key…); ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field
