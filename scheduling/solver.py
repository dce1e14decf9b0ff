"""The scheduling engine: plain data in, plain data out, Google OR-Tools CP-SAT inside.

Nothing here touches the database; ``scheduling.problems`` builds a :class:`Problem` from the
stored world and turns a :class:`Solution` back into meetings. That keeps the engine testable with
random instances and an independent checker, and lets the batch API and the visit proposal share it.

Model, on a time grid of ``granularity_minutes`` (15 by default) counted from the first day's start:

* every meeting has a start variable whose domain already holds only the grid points where its day
  bounds, its own windows and its *required* attendees' busy times allow it (domain reduction is
  cheaper and propagates better than constraints), an interval of its length, and a ``placed``
  literal (a meeting that cannot be placed is left out and explained, not a failed solve);
* one optional interval per candidate room (rooms too small are never candidates); exactly one is
  present when the meeting is placed; the room's busy times restrict that room's start domain and sit
  in the room's ``add_no_overlap`` as fixed intervals;
* ``add_no_overlap`` per room and per required attendee (hard), precedence pairs (a welcome before
  everything, a wrap-up after);
* optional attendees are soft: the minutes in which one of them has two things at once (two
  meetings of this problem, or a meeting and an existing busy time) are the second objective.

Objectives are lexicographic and solved in stages, each stage fixing the level above and starting
from the previous stage's solution (hints): (1) place as many meetings as possible (pinned ones
first), (2) minimise optional-attendee overlap minutes, (3) a weighted mix of earlier starts, fewer
rooms used by the delegation, a lunch break per person and day inside the lunch window, and a
walking gap between consecutive meetings of the same person in different buildings.

Determinism: the search is CP-SAT's interleaved portfolio (``interleave_search``) with a fixed seed,
so the same problem gives the same answer whenever each stage ends by optimality, and always under a
deterministic work limit (``work_limit``: one round per stage); only a stage cut by the wall-clock
limit can differ. Under a wall-clock limit the optional-overlap stage restarts from its best schedule
with the next seed in growing rounds, because a single trajectory stalls on hard instances.
"""

from __future__ import annotations

import math
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.translation import gettext, ngettext
from ortools.sat.python import cp_model

Interval = tuple[datetime, datetime]

#: Weights inside the third objective level (all in "grid steps of lateness" units).
WEIGHT_LUNCH_MISSED = 400
WEIGHT_BUILDING_GAP = 200
WEIGHT_DELEGATION_ROOM = 80
WEIGHT_START = 1
#: CP-SAT's deterministic interleaved portfolio (same answer for the same input and seed).
INTERLEAVE = True
#: CP-SAT's search log on stdout, for debugging a model.
LOG = False
#: First round of the optional-overlap stage; each further round gets STAGE2_GROWTH times more.
STAGE2_ROUND_SECONDS = 1.0
STAGE2_GROWTH = 1.25

STATUS_NAMES = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


# --- input ------------------------------------------------------------------------------------


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
    time_limit_seconds: float = 10.0
    #: Deterministic work budget (CP-SAT "deterministic seconds"); None: only the wall-clock limit.
    work_limit: float | None = None
    seed: int = 0
    num_workers: int = 2


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


def in_languages(make: Callable[[], str]) -> dict[str, str]:
    """``make()`` in every configured language: reasons are stored once and read in the reader's language."""
    codes = [code for code, _name in getattr(settings, "LANGUAGES", [])] if settings.configured else []
    out = {}
    for code in codes or ["en"]:
        with translation.override(code):
            out[code] = make()
    return out


def unplaced(key: str, make: Callable[[], str]) -> Unplaced:
    reasons = in_languages(make)
    active = (translation.get_language() or "en") if settings.configured else "en"
    return Unplaced(key, reasons.get(active) or reasons.get(active.split("-")[0]) or make(), reasons)


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


# --- grid arithmetic --------------------------------------------------------------------------


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged half-open integer spans."""
    out: list[list[int]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _subtract(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    result = []
    holes = _merge(holes)
    for a, b in spans:
        cur = a
        for ha, hb in holes:
            if hb <= cur or ha >= b:
                continue
            if ha > cur:
                result.append((cur, ha))
            cur = max(cur, hb)
        if cur < b:
            result.append((cur, b))
    return result


def _intersect(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _starts_avoiding(busy: list[tuple[int, int]], duration: int) -> list[tuple[int, int]]:
    """Start spans (half-open) forbidden because [s, s+duration) would overlap a busy span."""
    return [(a - duration + 1, b) for a, b in busy]


class _Grid:
    def __init__(self, problem: Problem):
        self.g = problem.granularity_minutes
        self.origin = min(d[0] for d in problem.days)
        self.zone = zoneinfo.ZoneInfo(problem.timezone)

    def floor(self, dt: datetime) -> int:
        return math.floor((dt - self.origin) / timedelta(minutes=self.g))

    def ceil(self, dt: datetime) -> int:
        return math.ceil((dt - self.origin) / timedelta(minutes=self.g))

    def at(self, unit: int) -> datetime:
        return self.origin + timedelta(minutes=unit * self.g)

    def busy(self, intervals: Sequence[Interval]) -> list[tuple[int, int]]:
        # A busy time covers every grid step it touches.
        return _merge((self.floor(a), self.ceil(b)) for a, b in intervals)

    def window(self, a: datetime, b: datetime) -> tuple[int, int]:
        # A window only offers the grid steps entirely inside it.
        return self.ceil(a), self.floor(b)

    def label(self, a: int, b: int) -> str:
        start, end = self.at(a).astimezone(self.zone), self.at(b).astimezone(self.zone)
        return f"{dateformat.format(start, 'D j M H:i')}–{end:%H:%M}"  # day and month names in the active language


def describe_spans(grid: _Grid, spans: list[tuple[int, int]], limit: int = 3) -> str:
    shown = [grid.label(a, b) for a, b in spans[:limit]]
    more = len(spans) - limit
    text = ", ".join(shown)
    return gettext("%(spans)s and %(n)s more") % {"spans": text, "n": more} if more > 0 else text


def _names(problem: Problem, people: Iterable[int]) -> str:
    names = [problem.people_names.get(p, gettext("person %(id)s") % {"id": p}) for p in people]
    if len(names) <= 1:
        return "".join(names)
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _minutes_text(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    if h and m:
        return gettext("%(h)s h %(m)s min") % {"h": h, "m": m}
    return gettext("%(h)s h") % {"h": h} if h else gettext("%(m)s min") % {"m": m}


# --- the model --------------------------------------------------------------------------------


@dataclass(eq=False)
class _MeetingVars:
    spec: MeetingSpec
    index: int
    duration: int
    domain: list[tuple[int, int]]  # allowed start spans after days, windows and required people
    rooms: list[int]  # candidate room ids
    room_domains: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # Set by _Builder right after construction (they need the model and the domain).
    placed: cp_model.IntVar = field(init=False, repr=False)
    start: cp_model.IntVar = field(init=False, repr=False)
    interval: cp_model.IntervalVar = field(init=False, repr=False)
    in_room: dict[int, cp_model.IntVar] = field(default_factory=dict)
    dead: str = ""  # why it cannot be placed at all (found before solving)


class _Builder:
    def __init__(self, problem: Problem):
        self.p = problem
        self.grid = _Grid(problem)
        self.model = cp_model.CpModel()
        self.rooms = {r.id: r for r in problem.rooms}
        self.day_spans = _merge(self.grid.window(a, b) for a, b in problem.days)
        self.horizon = max(b for _, b in self.day_spans) if self.day_spans else 0
        self.busy_people = {p: self.grid.busy(v) for p, v in problem.busy_people.items()}
        self.busy_rooms = {r: self.grid.busy(v) for r, v in problem.busy_rooms.items()}
        self.vars: list[_MeetingVars] = []
        self.overlap_terms: list[tuple[int, cp_model.LinearExpr]] = []  # (weight, units)
        self.secondary_terms: list[tuple[int, cp_model.LinearExpr]] = []
        self.lunch_missed: list[cp_model.IntVar] = []
        self.gap_violations: list[cp_model.IntVar] = []
        self.delegation_rooms: list[cp_model.IntVar] = []

    # validation ------------------------------------------------------------------------------

    def validate(self) -> None:
        p = self.p
        if not p.days:
            raise ProblemError("Give at least one day.", field="days")
        if p.granularity_minutes < 1 or p.granularity_minutes > 240:
            raise ProblemError("The grid step must be between 1 and 240 minutes.", field="granularity_minutes")
        keys = [m.key for m in p.meetings]
        if len(keys) != len(set(keys)):
            raise ProblemError("Meeting keys must be unique.", field="meetings")
        for m in p.meetings:
            if m.duration_minutes <= 0:
                raise ProblemError(f"{m.key}: the duration must be positive.", field="meetings")
            unknown = [r for r in (m.rooms or ()) if r not in self.rooms]
            if m.pinned and m.pinned.room is not None and m.pinned.room not in self.rooms:
                unknown.append(m.pinned.room)
            if unknown:
                raise ProblemError(f"{m.key}: room {unknown[0]} is not among the problem's rooms.", field="meetings")
            if set(m.required) & set(m.optional):
                raise ProblemError(f"{m.key}: a person is both required and optional.", field="meetings")
        for before, after in p.precedence:
            if before not in keys or after not in keys:
                raise ProblemError(f"Unknown meeting in precedence {before!r} → {after!r}.", field="precedence")

    # variables -------------------------------------------------------------------------------

    def _base_domain(self, m: MeetingSpec, d: int) -> list[tuple[int, int]]:
        """Start spans allowed by the days, the meeting's windows and its required people."""
        spans = self.day_spans
        if m.windows:
            spans = _intersect(spans, _merge(self.grid.window(a, b) for a, b in m.windows))
        starts = _merge((a, b - d + 1) for a, b in spans if b - d + 1 > a)
        for person in m.required:
            starts = _subtract(starts, _starts_avoiding(self.busy_people.get(person, []), d))
        return starts

    def _pinned_domain(self, m: MeetingSpec, d: int) -> list[tuple[int, int]]:
        assert m.pinned is not None  # called for pinned meetings only
        s = self.grid.floor(m.pinned.starts_at)
        starts = [(s, s + 1)]
        for person in m.required:
            starts = _subtract(starts, _starts_avoiding(self.busy_people.get(person, []), d))
        return starts

    def add_meetings(self) -> None:
        model = self.model
        for index, m in enumerate(self.p.meetings):
            d = max(1, math.ceil(m.duration_minutes / self.grid.g))
            domain = self._pinned_domain(m, d) if m.pinned else self._base_domain(m, d)
            if m.needs_room:
                if m.pinned and m.pinned.room is not None:
                    rooms = [m.pinned.room] if self.rooms[m.pinned.room].capacity >= m.seats else []
                else:
                    pool = m.rooms if m.rooms is not None else list(self.rooms)
                    rooms = [r for r in pool if self.rooms[r].capacity >= m.seats]
            else:
                rooms = []
            mv = _MeetingVars(spec=m, index=index, duration=d, domain=domain, rooms=rooms)
            for r in rooms:
                rd = _subtract(domain, _starts_avoiding(self.busy_rooms.get(r, []), d))
                if rd:
                    mv.room_domains[r] = rd
            if not domain or (m.needs_room and not mv.room_domains):
                mv.dead = "x"  # explained after solving, with the full picture
            mv.placed = model.new_bool_var(f"placed[{m.key}]")
            if mv.dead:
                model.add(mv.placed == 0)
                lo = domain[0][0] if domain else 0
                mv.start = model.new_int_var(lo, lo, f"start[{m.key}]")
            else:
                usable = _merge(s for r in mv.room_domains.values() for s in r) if m.needs_room else domain
                mv.start = model.new_int_var_from_domain(
                    cp_model.Domain.from_intervals([[a, b - 1] for a, b in usable]), f"start[{m.key}]"
                )
            mv.interval = model.new_optional_fixed_size_interval_var(mv.start, d, mv.placed, f"iv[{m.key}]")
            if m.needs_room and not mv.dead:
                for r, rd in mv.room_domains.items():
                    lit = model.new_bool_var(f"room[{m.key},{r}]")
                    mv.in_room[r] = lit
                    model.add_linear_expression_in_domain(
                        mv.start, cp_model.Domain.from_intervals([[a, b - 1] for a, b in rd])
                    ).only_enforce_if(lit)
                model.add(sum(mv.in_room.values()) == mv.placed)
            self.vars.append(mv)

    # constraints -----------------------------------------------------------------------------

    def add_rooms(self) -> None:
        # Redundant but strong: at any moment at most as many room meetings as rooms.
        roomed = [mv.interval for mv in self.vars if mv.in_room]
        if len(roomed) > len(self.rooms) > 0:
            self.model.add_cumulative(roomed, [1] * len(roomed), len(self.rooms))
        for r in self.rooms:
            intervals = []
            for mv in self.vars:
                if r in mv.in_room:
                    intervals.append(
                        self.model.new_optional_fixed_size_interval_var(mv.start, mv.duration, mv.in_room[r],
                                                                   f"iv[{mv.spec.key},{r}]")
                    )
            if len(intervals) + (1 if intervals and self.busy_rooms.get(r) else 0) > 1:
                for a, b in self._clip(self.busy_rooms.get(r, [])):
                    intervals.append(self.model.new_fixed_size_interval_var(a, b - a, f"busy[r{r},{a}]"))
                self.model.add_no_overlap(intervals)

    def _clip(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(max(a, 0), min(b, self.horizon)) for a, b in spans if b > 0 and a < self.horizon]

    def required_by_person(self) -> dict[int, list[_MeetingVars]]:
        out: dict[int, list[_MeetingVars]] = defaultdict(list)
        for mv in self.vars:
            if not mv.dead:
                for person in mv.spec.required:
                    out[person].append(mv)
        return out

    def add_people(self) -> None:
        for person, mvs in sorted(self.required_by_person().items()):
            intervals = [mv.interval for mv in mvs]
            intervals += self._lunch_intervals(person, mvs)
            if len(intervals) > 1:
                # Busy times are already out of the start domains; listing them again is harmless
                # and keeps the model readable as "the person's timeline".
                for a, b in self._clip(self.busy_people.get(person, [])):
                    intervals.append(self.model.new_fixed_size_interval_var(a, b - a, f"busy[p{person},{a}]"))
                self.model.add_no_overlap(intervals)

    def _lunch_intervals(self, person: int, mvs: list[_MeetingVars]) -> list[cp_model.IntervalVar]:
        rule = self.p.lunch
        if rule is None:
            return []
        out = []
        length = max(1, math.ceil(rule.minutes / self.grid.g))
        h1, m1 = map(int, rule.start.split(":"))
        h2, m2 = map(int, rule.end.split(":"))
        for day_start, _ in self.p.days:
            local = day_start.astimezone(self.grid.zone)
            a, b = self.grid.window(
                local.replace(hour=h1, minute=m1, second=0, microsecond=0),
                local.replace(hour=h2, minute=m2, second=0, microsecond=0),
            )
            if b - a < length:
                continue
            # Only days where one of the person's meetings could touch the window matter.
            if not any(s[0] < b and s[1] + mv.duration > a for mv in mvs for s in mv.domain):
                continue
            taken = self.model.new_bool_var(f"lunch[{person},{a}]")
            start = self.model.new_int_var(a, b - length, f"lunch_start[{person},{a}]")
            out.append(self.model.new_optional_fixed_size_interval_var(start, length, taken, f"lunch[{person},{a}]"))
            missed = self.model.new_bool_var(f"lunch_missed[{person},{a}]")
            self.model.add(missed == 1 - taken)
            self.lunch_missed.append(missed)
        return out

    def add_precedence(self) -> None:
        by_key = {mv.spec.key: mv for mv in self.vars}
        for before, after in self.p.precedence:
            b, a = by_key[before], by_key[after]
            if b.dead or a.dead:
                continue
            self.model.add(a.start >= b.start + b.duration).only_enforce_if([a.placed, b.placed])

    def add_optional_overlaps(self) -> None:
        """Pairs of meetings that share a person for whom at least one of the two is optional."""
        attends: dict[int, list[tuple[_MeetingVars, bool]]] = defaultdict(list)
        for mv in self.vars:
            if mv.dead:
                continue
            for person in mv.spec.required:
                attends[person].append((mv, True))
            for person in mv.spec.optional:
                attends[person].append((mv, False))
        weights: dict[tuple[int, int], int] = defaultdict(int)
        for entries in attends.values():
            for x in range(len(entries)):
                for y in range(x + 1, len(entries)):
                    (m1, r1), (m2, r2) = entries[x], entries[y]
                    if r1 and r2:
                        continue  # both required: a hard NoOverlap already
                    key = (min(m1.index, m2.index), max(m1.index, m2.index))
                    weights[key] += 1
        model = self.model
        for (i, j), weight in sorted(weights.items()):
            a, b = self.vars[i], self.vars[j]
            if not self._may_overlap(a, b):
                continue
            cap = min(a.duration, b.duration)
            span = max(a.domain[-1][1], b.domain[-1][1]) - min(a.domain[0][0], b.domain[0][0]) + cap
            raw = model.new_int_var(-span, cap, f"ovraw[{i},{j}]")
            model.add_min_equality(raw, [a.start + a.duration - b.start, b.start + b.duration - a.start, cap])
            ov = model.new_int_var(0, cap, f"ov[{i},{j}]")
            model.add(ov >= raw).only_enforce_if([a.placed, b.placed])
            self.overlap_terms.append((weight, ov))
        # Optional attendees who are already busy (existing meetings, absences, outside hours).
        for mv in self.vars:
            if mv.dead or not mv.spec.optional:
                continue
            lo, hi = mv.domain[0][0], mv.domain[-1][1] - 1  # every possible start
            table = [0] * (hi - lo + 1)
            for person in mv.spec.optional:
                for ba, bb in self.busy_people.get(person, []):
                    for s in range(max(lo, ba - mv.duration + 1), min(hi, bb - 1) + 1):
                        table[s - lo] += min(s + mv.duration, bb) - max(s, ba)
            if not any(table):
                continue
            top = max(table)
            offset = model.new_int_var(0, hi - lo, f"busyix[{mv.index}]")
            model.add(offset == mv.start - lo)
            cost = model.new_int_var(0, top, f"busycost[{mv.index}]")
            model.add_element(offset, table, cost)
            effective = model.new_int_var(0, top, f"busycost_eff[{mv.index}]")
            model.add(effective >= cost - top * (1 - mv.placed))
            self.overlap_terms.append((1, effective))

    @staticmethod
    def _may_overlap(a: _MeetingVars, b: _MeetingVars) -> bool:
        lo_a, hi_a = a.domain[0][0], a.domain[-1][1] - 1 + a.duration
        lo_b, hi_b = b.domain[0][0], b.domain[-1][1] - 1 + b.duration
        return lo_a < hi_b and lo_b < hi_a

    def add_secondary(self) -> None:
        model = self.model
        for mv in self.vars:
            if not mv.dead:
                self.secondary_terms.append((WEIGHT_START, mv.start))
        for v in self.lunch_missed:
            self.secondary_terms.append((WEIGHT_LUNCH_MISSED, v))
        delegation = set(self.p.delegation)
        if delegation:
            for r in self.rooms:
                lits = [mv.in_room[r] for mv in self.vars if r in mv.in_room
                        and delegation & (set(mv.spec.required) | set(mv.spec.optional))]
                if lits:
                    used = model.new_bool_var(f"delegation_room[{r}]")
                    for lit in lits:
                        model.add_implication(lit, used)
                    self.delegation_rooms.append(used)
                    self.secondary_terms.append((WEIGHT_DELEGATION_ROOM, used))
        self._add_building_gaps()

    def _add_building_gaps(self) -> None:
        gap = math.ceil(self.p.building_gap_minutes / self.grid.g) if self.p.building_gap_minutes else 0
        buildings = sorted({r.building for r in self.p.rooms})
        if not gap or len(buildings) < 2:
            return
        model = self.model
        index = {b: n for n, b in enumerate(buildings)}
        building_of: dict[int, cp_model.IntVar] = {}
        for mv in self.vars:
            if mv.in_room:
                var = model.new_int_var(0, len(buildings) - 1, f"building[{mv.index}]")
                model.add(var == sum(index[self.rooms[r].building] * lit for r, lit in mv.in_room.items()))
                building_of[mv.index] = var
        for mvs in self.required_by_person().values():
            for x in range(len(mvs)):
                for y in range(x + 1, len(mvs)):
                    a, b = mvs[x], mvs[y]
                    if a.index not in building_of or b.index not in building_of or not self._may_overlap(a, b):
                        continue
                    differ = model.new_bool_var(f"differ[{a.index},{b.index}]")
                    model.add(building_of[a.index] != building_of[b.index]).only_enforce_if(differ)
                    model.add(building_of[a.index] == building_of[b.index]).only_enforce_if(differ.Not())
                    violated = model.new_bool_var(f"gap_violated[{a.index},{b.index}]")
                    a_first = model.new_bool_var(f"order[{a.index},{b.index}]")
                    guard = [differ, a.placed, b.placed, violated.Not()]
                    model.add(b.start >= a.start + a.duration + gap).only_enforce_if([*guard, a_first])
                    model.add(a.start >= b.start + b.duration + gap).only_enforce_if([*guard, a_first.Not()])
                    self.gap_violations.append(violated)
                    self.secondary_terms.append((WEIGHT_BUILDING_GAP, violated))

    def build(self) -> None:
        self.validate()
        self.add_meetings()
        self.add_rooms()
        self.add_people()
        self.add_precedence()
        self.add_optional_overlaps()
        self.add_secondary()


# --- solving ----------------------------------------------------------------------------------


class _Fixed:
    """A greedy schedule in the shape of a solved CpSolver (``value``), for hints and extraction."""

    def __init__(self, placed: dict[_MeetingVars, tuple[int, int | None]]) -> None:
        self.values: dict[int, int] = {}
        for mv, (start, room) in placed.items():
            self.values[mv.placed.index] = 1
            self.values[mv.start.index] = start
            for r, lit in mv.in_room.items():
                self.values[lit.index] = int(r == room)

    def value(self, var: Any) -> int:
        return self.values.get(var.index, 0) if hasattr(var, "index") else 0


class _FirstComplete(cp_model.CpSolverSolutionCallback):
    """Notes when the first solution that places every placeable meeting appears."""

    def __init__(self, target: int, started: float):
        super().__init__()
        self.target, self.started = target, started
        self.at: float | None = None

    def on_solution_callback(self) -> None:
        if self.at is None and self.objective_value >= self.target:
            self.at = time.monotonic() - self.started


def _weighted(terms: list[tuple[int, cp_model.LinearExpr]]) -> Any:
    return sum(w * v for w, v in terms) if terms else 0


def solve(problem: Problem) -> Solution:
    started = time.monotonic()
    builder = _Builder(problem)
    builder.build()
    model, vars_ = builder.model, builder.vars
    deadline = started + max(0.05, problem.time_limit_seconds)
    n = len(vars_)
    pin_weight = n + 1
    level1 = sum((pin_weight if mv.spec.pinned else 1) * mv.placed for mv in vars_) if vars_ else 0
    level1_max = sum((pin_weight if mv.spec.pinned else 1) for mv in vars_ if not mv.dead)
    level2 = _weighted(builder.overlap_terms)
    level3 = _weighted(builder.secondary_terms)
    hint_vars = [v for mv in vars_ for v in (mv.placed, mv.start, *mv.in_room.values())]

    def run(budget_share: float, callback: cp_model.CpSolverSolutionCallback | None = None, *, seed_offset: int = 0,
            cap: float | None = None) -> tuple[cp_model.CpSolver, Any]:
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = max(1, problem.num_workers)
        params.interleave_search = INTERLEAVE
        params.random_seed = problem.seed + seed_offset
        params.log_search_progress = LOG
        budget = max(0.01, (deadline - time.monotonic()) * budget_share)
        params.max_time_in_seconds = min(budget, cap) if cap else budget
        if problem.work_limit is not None:
            params.max_deterministic_time = problem.work_limit * budget_share
        status = solver.solve(model, callback)
        return solver, status

    def keep(solver: cp_model.CpSolver | _Fixed) -> None:
        model.clear_hints()  # type: ignore[no-untyped-call]
        for v in hint_vars:
            model.add_hint(v, solver.value(v))

    stages: dict[str, str] = {}
    timings: dict[str, float] = {"model": round(time.monotonic() - started, 4)}
    # (1) place as much as possible, pinned meetings first, starting from a greedy schedule. When the
    # greedy schedule already places everything (in order), that level is proved and skipped.
    greedy = _greedy(builder)
    for mv, (start, room) in greedy.items():
        model.add_hint(mv.placed, 1)
        model.add_hint(mv.start, start)
        for r, lit in mv.in_room.items():
            model.add_hint(lit, int(r == room))
    first = _FirstComplete(level1_max, started)
    mark = time.monotonic()
    by_key = {mv.spec.key: mv for mv in vars_}
    complete = len(greedy) == sum(1 for mv in vars_ if not mv.dead) and all(
        greedy[by_key[b]][0] + by_key[b].duration <= greedy[by_key[a]][0]
        for b, a in problem.precedence if by_key[b] in greedy and by_key[a] in greedy)
    solver: cp_model.CpSolver | _Fixed
    if complete:
        first.at = time.monotonic() - started
        solver, status = _Fixed(greedy), cp_model.OPTIMAL
    else:
        model.maximize(level1)
        solver, status = run(0.6, first)
    stages["placement"] = STATUS_NAMES[status]
    timings["placement"] = round(time.monotonic() - mark, 4)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _empty(builder, problem, started, "unknown" if status == cp_model.UNKNOWN else "infeasible")
    best1 = level1_max if complete else round(solver.objective_value)  # type: ignore[union-attr]  # a CpSolver here
    placement_proved = status == cp_model.OPTIMAL
    model.add(level1 >= best1)
    keep(solver)
    best_solver = solver
    overlap_bound = None
    # (2) fewest optional-attendee overlap minutes.
    if builder.overlap_terms:
        model.minimize(level2)
        mark = time.monotonic()
        # Restarts from the best schedule so far with a new seed each round: one trajectory stalls
        # (on the classic instance it sat at the same value from 5 s to 30 s). Rounds grow so small
        # problems still get the time to prove optimality.
        stage_end = mark + (deadline - mark) * 0.85
        best2, round_no, status2, cap = None, 0, cp_model.UNKNOWN, STAGE2_ROUND_SECONDS
        while time.monotonic() < stage_end - 0.01:
            if problem.work_limit is not None:  # a deterministic budget: one round, no wall-clock cuts
                solver2, status = run(0.85)
            else:
                solver2, status = run(1.0, seed_offset=round_no, cap=min(cap, stage_end - time.monotonic()))
            round_no += 1
            cap *= STAGE2_GROWTH
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
            value = round(solver2.objective_value)
            overlap_bound = max(overlap_bound or 0, round(solver2.best_objective_bound))
            if best2 is None or value < best2:
                best2, best_solver, status2 = value, solver2, status
                keep(solver2)
            if status == cp_model.OPTIMAL:
                status2 = status  # proved: nothing is below best2
                break
            if problem.work_limit is not None:
                break
        stages["optional_overlap"] = STATUS_NAMES[status2] if best2 is not None else "unknown"
        timings["optional_overlap"] = round(time.monotonic() - mark, 4)
        if best2 is not None:
            model.add(level2 <= best2)
    # (3) earlier, fewer delegation rooms, lunch, walking gaps.
    model.minimize(level3)
    mark = time.monotonic()
    solver3, status3 = run(1.0)
    stages["preferences"] = STATUS_NAMES[status3]
    timings["preferences"] = round(time.monotonic() - mark, 4)
    if status3 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        best_solver = solver3
    all_placed = best1 == level1_max and not any(mv.dead for mv in vars_)
    optimal = all(s == "optimal" for s in stages.values())
    overall = "infeasible" if placement_proved else "unknown"
    if all_placed:
        overall = "optimal" if optimal else "feasible"
    solution = _extract(builder, best_solver, problem, started, overall, stages)
    return Solution(
        status=solution.status,
        assignments=solution.assignments,
        unplaced=solution.unplaced,
        objective={**solution.objective, "optional_overlap_bound_minutes":
                   (overlap_bound * builder.grid.g if overlap_bound is not None else 0), "stage_seconds": timings},
        solve_seconds=solution.solve_seconds,
        first_complete_seconds=first.at if all_placed else None,
    )


def _greedy(builder: _Builder) -> dict[_MeetingVars, tuple[int, int | None]]:
    """The better of two greedy passes: one that avoids optional overlaps, one that only packs early."""
    careful = _greedy_pass(builder, soft=True)
    if len(careful) == sum(1 for mv in builder.vars if not mv.dead):
        return careful
    packed = _greedy_pass(builder, soft=False)
    return packed if len(packed) > len(careful) else careful


def _greedy_pass(builder: _Builder, *, soft: bool) -> dict[_MeetingVars, tuple[int, int | None]]:
    """A quick first schedule to start the search from: hardest meetings first, then for each the slot
    and smallest fitting room that keep required people and rooms free and add the fewest minutes of
    optional-attendee overlap (earliest on ties). The solver repairs and improves it."""
    people_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    room_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    attending: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)  # person -> (start, end, required)

    def free(spans: list[tuple[int, int]], a: int, b: int) -> bool:
        return all(b <= x or y <= a for x, y in spans)

    def options(mv: _MeetingVars) -> int:
        pool = mv.room_domains.values() if mv.spec.needs_room else [mv.domain]
        return sum(b - a for spans in pool for a, b in spans)

    def soft_cost(mv: _MeetingVars, a: int, b: int) -> int:
        cost = 0
        for person in mv.spec.optional:
            cost += sum(max(0, min(b, y) - max(a, x)) for x, y, _ in attending[person])
            cost += sum(max(0, min(b, y) - max(a, x)) for x, y in builder.busy_people.get(person, ()))
        for person in mv.spec.required:
            cost += sum(max(0, min(b, y) - max(a, x)) for x, y, req in attending[person] if not req)
        return cost

    live = [mv for mv in builder.vars if not mv.dead]
    order = sorted(live, key=lambda mv: (not mv.spec.pinned, options(mv), -mv.duration, -len(mv.spec.required),
                                         mv.index))
    out: dict[_MeetingVars, tuple[int, int | None]] = {}
    by_key = {mv.spec.key: mv for mv in builder.vars}
    before = defaultdict(list)  # key -> meetings that must end before it starts
    after = defaultdict(list)
    for b, a in builder.p.precedence:
        before[a].append(by_key[b])
        after[b].append(by_key[a])
    for mv in order:
        by_size: list[int] = sorted(mv.room_domains, key=lambda r: (builder.rooms[r].capacity, r))
        rooms: list[int | None] = [*by_size] if mv.spec.needs_room else [None]
        best: tuple[int, int, int | None] | None = None
        earliest = max((out[p][0] + p.duration for p in before[mv.spec.key] if p in out), default=None)
        latest = min((out[n][0] for n in after[mv.spec.key] if n in out), default=None)
        for s in sorted({s for a, b in mv.domain for s in range(a, b)}):
            e = s + mv.duration
            if (earliest is not None and s < earliest) or (latest is not None and e > latest):
                continue
            if not all(free(people_busy[p], s, e) for p in mv.spec.required):
                continue
            room = next((r for r in rooms if r is None or (any(a <= s < b for a, b in mv.room_domains[r])
                                                          and free(room_busy[r], s, e))), False)
            if room is False:
                continue
            cost = soft_cost(mv, s, e) if soft else 0
            if best is None or cost < best[0]:
                best = (cost, s, room)
                if cost == 0:
                    break
        if best is None:
            continue
        _, s, room = best
        e = s + mv.duration
        for p in mv.spec.required:
            people_busy[p].append((s, e))
            attending[p].append((s, e, True))
        for p in mv.spec.optional:
            attending[p].append((s, e, False))
        if room is not None:
            room_busy[room].append((s, e))
        out[mv] = (s, room)
    return out


def _extract(builder: _Builder, solver: cp_model.CpSolver | _Fixed, problem: Problem, started: float, status: str,
             stages: dict[str, str]) -> Solution:
    grid = builder.grid
    assignments, placed_ix = [], set()
    for mv in builder.vars:
        if mv.dead or not solver.value(mv.placed):
            continue
        s = solver.value(mv.start)
        room = next((r for r, lit in mv.in_room.items() if solver.value(lit)), None)
        assignments.append(Assignment(mv.spec.key, grid.at(s), grid.at(s) + timedelta(minutes=mv.spec.duration_minutes),
                                      room))
        placed_ix.add(mv.index)
    unplaced = [_unplaced(builder, mv, assignments) for mv in builder.vars if mv.index not in placed_ix]
    real = not isinstance(solver, _Fixed)
    objective = {
        "placed": len(assignments),
        "unplaced": len(unplaced),
        "optional_overlap_minutes": optional_overlap_minutes(problem, assignments),
        # Only a solver's answer carries these; a greedy schedule nobody improved does not.
        "lunch_breaks_missed": sum(solver.value(v) for v in builder.lunch_missed) if real else None,
        "building_gaps_missed": sum(solver.value(v) for v in builder.gap_violations) if real else None,
        "delegation_rooms": sum(solver.value(v) for v in builder.delegation_rooms) if real else None,
        "preferences": round(sum(w * solver.value(v) for w, v in builder.secondary_terms)) if real else None,
        "stages": stages,
    }
    assignments.sort(key=lambda a: (a.starts_at, a.key))
    return Solution(status, tuple(assignments), tuple(unplaced), objective, round(time.monotonic() - started, 4))


def optional_overlap_minutes(problem: Problem, assignments: Sequence[Assignment]) -> int:
    """Minutes in which an optional attendee has two things at once, counted on the grid like the model:
    per person, each pair of their meetings where they are optional in at least one, and each meeting
    where they are optional against their existing busy time."""
    grid = _Grid(problem)
    specs = {m.key: m for m in problem.meetings}
    spans = {a.key: (grid.floor(a.starts_at), grid.floor(a.starts_at) + max(1, math.ceil(
        specs[a.key].duration_minutes / grid.g))) for a in assignments}
    attends: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for key in spans:
        for p in specs[key].required:
            attends[p].append((key, True))
        for p in specs[key].optional:
            attends[p].append((key, False))
    units = 0
    for person, entries in attends.items():
        for x in range(len(entries)):
            for y in range(x + 1, len(entries)):
                (k1, r1), (k2, r2) = entries[x], entries[y]
                if not (r1 and r2):
                    (a1, b1), (a2, b2) = spans[k1], spans[k2]
                    units += max(0, min(b1, b2) - max(a1, a2))
        busy = grid.busy(problem.busy_people.get(person, ()))
        for key, required in entries:
            if not required:
                a, b = spans[key]
                units += sum(max(0, min(b, y) - max(a, x)) for x, y in busy)
    return units * grid.g


def _empty(builder: _Builder, problem: Problem, started: float, status: str) -> Solution:
    unplaced = tuple(_unplaced(builder, mv, []) for mv in builder.vars)
    objective = {"placed": 0, "unplaced": len(unplaced), "optional_overlap_minutes": 0,
                 "optional_overlap_bound_minutes": 0, "stages": {"placement": status}}
    return Solution(status, (), unplaced, objective, round(time.monotonic() - started, 4))


# --- honest reasons ---------------------------------------------------------------------------


def _unplaced(builder: _Builder, mv: _MeetingVars, placed: Sequence[Assignment]) -> Unplaced:
    return unplaced(mv.spec.key, lambda: explain(builder, mv, placed))


def explain(builder: _Builder, mv: _MeetingVars, placed: Sequence[Assignment]) -> str:
    """Why ``mv`` is not in the schedule, in the coordinator's words, naming the blocking constraint."""
    p, grid, m, d = builder.p, builder.grid, mv.spec, mv.duration
    length = _minutes_text(m.duration_minutes)
    room_names = {r.id: r.name or gettext("room %(id)s") % {"id": r.id} for r in p.rooms}
    if m.needs_room:
        pool = ([m.pinned.room] if m.pinned and m.pinned.room is not None
                else (list(m.rooms) if m.rooms is not None else list(builder.rooms)))
        if not pool:
            return gettext("no room is offered for it")
        if not mv.rooms:
            biggest = max(pool, key=lambda r: builder.rooms[r].capacity)
            return gettext("no room for %(n)s people: the largest is %(room)s with %(seats)s seats") % {
                "n": m.seats, "room": room_names[biggest], "seats": builder.rooms[biggest].capacity}
    if m.pinned:
        when = grid.label(grid.floor(m.pinned.starts_at), grid.floor(m.pinned.starts_at) + d)
        if not mv.domain:
            busy = [q for q in m.required if _starts_avoiding_hit(builder, q, grid.floor(m.pinned.starts_at), d)]
            return ngettext("pinned to %(when)s, but %(names)s is busy then",
                            "pinned to %(when)s, but %(names)s are busy then", len(busy)) % {
                "when": when, "names": _names(p, busy)}
        if m.needs_room and not mv.room_domains:
            return gettext("pinned to %(when)s, but %(room)s is booked then") % {
                "when": when, "room": room_names[mv.rooms[0]]}
    # Without the other meetings of this problem: days, windows, people.
    free_alone = _merge((a, b - 1 + d) for a, b in mv.domain)
    if not mv.domain:
        base = _base_without_people(builder, m, d)
        if not base:
            if m.windows:
                return gettext("%(length)s does not fit inside its time windows") % {"length": length}
            return gettext("%(length)s does not fit inside the day bounds") % {"length": length}
        blockers = [q for q in m.required if not _subtract(base, _starts_avoiding(builder.busy_people.get(q, []), d))]
        if blockers:
            return ngettext(
                "%(names)s is not free for %(length)s on any of the days (working hours, absences or other meetings)",
                "%(names)s are not free for %(length)s on any of the days (working hours, absences or other meetings)",
                len(blockers)) % {"names": _names(p, blockers), "length": length}
        return gettext("%(names)s are never free together for %(length)s on these days") % {
            "names": _names(p, m.required), "length": length}
    if m.needs_room and not mv.room_domains:
        values = {"n": m.seats, "names": _names(p, m.required), "spans": describe_spans(grid, free_alone)}
        if not m.required:
            return gettext("no room for %(n)s people is free (%(spans)s)") % values
        return ngettext("no room for %(n)s people is free when %(names)s is free (%(spans)s)",
                        "no room for %(n)s people is free when %(names)s are free (%(spans)s)",
                        len(m.required)) % values
    # Everything it needs exists; the other meetings of this problem took it.
    competitors = []
    people = set(m.required)
    for a in placed:
        other = next(x for x in builder.vars if x.spec.key == a.key)
        s, e = grid.floor(a.starts_at), grid.ceil(a.ends_at)
        if not _intersect(free_alone, [(s, e)]):
            continue
        shared = people & set(other.spec.required)
        if shared or (a.room is not None and a.room in mv.room_domains):
            what = (_names(p, sorted(shared)) if shared
                    else room_names.get(a.room, gettext("the room")) if a.room is not None else gettext("the room"))
            competitors.append(f"“{other.spec.title}” ({what})")
    order = [f"“{q}”" for q in _precedence_partners(builder, m.key)]
    if competitors:
        text = gettext("every %(length)s slot when its people and a room for %(n)s are free (%(spans)s) is taken "
                       "by %(others)s") % {"length": length, "n": m.seats, "spans": describe_spans(grid, free_alone),
                                           "others": ", ".join(competitors[:4])}
        if order:
            text += gettext("; it must also come after/before %(others)s") % {"others": ", ".join(order)}
        return text
    if order:
        return gettext("no slot left that keeps it in order with %(others)s") % {"others": ", ".join(order)}
    return gettext("the time limit ran out before a place was found for it")


def _starts_avoiding_hit(builder: _Builder, person: int, s: int, d: int) -> bool:
    return bool(_intersect([(s, s + 1)], _merge(_starts_avoiding(builder.busy_people.get(person, []), d))))


def _base_without_people(builder: _Builder, m: MeetingSpec, d: int) -> list[tuple[int, int]]:
    spans = builder.day_spans
    if m.windows:
        spans = _intersect(spans, _merge(builder.grid.window(a, b) for a, b in m.windows))
    return _merge((a, b - d + 1) for a, b in spans if b - d + 1 > a)


def _precedence_partners(builder: _Builder, key: str) -> list[str]:
    titles = {mv.spec.key: mv.spec.title for mv in builder.vars}
    return [titles[b if a == key else a] for a, b in builder.p.precedence if key in (a, b)]
