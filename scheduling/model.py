"""The CP-SAT model of a scheduling ``Problem``: variables, hard constraints and the terms of each objective.

On a time grid of ``granularity_minutes`` (15 by default) counted from the first day's start:

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
  meetings of this problem, or a meeting and an existing busy time) are the second objective's terms;
* the third objective's terms: earlier starts, fewer rooms used by the delegation, a lunch break per
  person and day inside the lunch window, a walking gap between consecutive meetings of the same
  person in different buildings.

Grid spans are ``availability.intervals`` spans of grid steps, so domains are cut with the same
interval operations availability uses for time. How the model is searched is ``scheduling.search``.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import dateformat
from ortools.sat.python import cp_model

from availability import intervals as iv
from availability.intervals import Interval, Span

from .problem import MeetingSpec, Problem, ProblemError

#: Weights inside the third objective level (all in "grid steps of lateness" units).
WEIGHT_LUNCH_MISSED = 400
WEIGHT_BUILDING_GAP = 200
WEIGHT_DELEGATION_ROOM = 80
WEIGHT_START = 1

#: ``[start, end)`` in grid steps.
Steps = Span[int]


# --- grid arithmetic --------------------------------------------------------------------------


def starts_avoiding(busy: list[Steps], duration: int) -> list[Steps]:
    """Start spans (half-open, normalized) forbidden because [s, s+duration) would overlap a busy span."""
    return iv.normalize((a - duration + 1, b) for a, b in busy)


def starts_within(spans: Iterable[Steps], duration: int) -> list[Steps]:
    """Start spans that keep [s, s+duration) inside one of ``spans``."""
    return iv.normalize((a, b - duration + 1) for a, b in spans if b - duration + 1 > a)


class Grid:
    """Times on the problem's grid: step n is ``n * granularity`` minutes after the first day's start."""

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

    def busy(self, intervals: Sequence[Interval]) -> list[Steps]:
        # A busy time covers every grid step it touches.
        return iv.normalize((self.floor(a), self.ceil(b)) for a, b in intervals)

    def window(self, a: datetime, b: datetime) -> Steps:
        # A window only offers the grid steps entirely inside it.
        return self.ceil(a), self.floor(b)

    def label(self, a: int, b: int) -> str:
        start, end = self.at(a).astimezone(self.zone), self.at(b).astimezone(self.zone)
        return f"{dateformat.format(start, 'D j M H:i')}–{end:%H:%M}"  # day and month names in the active language



# --- the model --------------------------------------------------------------------------------


@dataclass(eq=False)
class MeetingVars:
    spec: MeetingSpec
    index: int
    duration: int
    domain: list[Steps]  # allowed start spans after days, windows and required people
    rooms: list[int]  # candidate room ids
    room_domains: dict[int, list[Steps]] = field(default_factory=dict)
    # Set by ModelBuilder right after construction (they need the model and the domain).
    placed: cp_model.IntVar = field(init=False, repr=False)
    start: cp_model.IntVar = field(init=False, repr=False)
    interval: cp_model.IntervalVar = field(init=False, repr=False)
    in_room: dict[int, cp_model.IntVar] = field(default_factory=dict)
    dead: str = ""  # why it cannot be placed at all (found before solving)


class ModelBuilder:
    def __init__(self, problem: Problem):
        self.p = problem
        self.grid = Grid(problem)
        self.model = cp_model.CpModel()
        self.rooms = {r.id: r for r in problem.rooms}
        self.day_spans = iv.normalize(self.grid.window(a, b) for a, b in problem.days)
        self.horizon = max(b for _, b in self.day_spans) if self.day_spans else 0
        self.busy_people = {p: self.grid.busy(v) for p, v in problem.busy_people.items()}
        self.busy_rooms = {r: self.grid.busy(v) for r, v in problem.busy_rooms.items()}
        self.vars: list[MeetingVars] = []
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
        for a, b in p.same_day:
            if a not in keys or b not in keys:
                raise ProblemError(f"Unknown meeting in same-day pair {a!r}, {b!r}.", field="same_day")

    # variables -------------------------------------------------------------------------------

    def _base_domain(self, m: MeetingSpec, d: int) -> list[Steps]:
        """Start spans allowed by the days, the meeting's windows and its required people."""
        spans = self.day_spans
        if m.windows:
            spans = iv.intersect(spans, iv.normalize(self.grid.window(a, b) for a, b in m.windows))
        starts = starts_within(spans, d)
        for person in m.required:
            starts = iv.subtract(starts, starts_avoiding(self.busy_people.get(person, []), d))
        return starts

    def _pinned_domain(self, m: MeetingSpec, d: int) -> list[Steps]:
        assert m.pinned is not None  # called for pinned meetings only
        s = self.grid.floor(m.pinned.starts_at)
        starts = [(s, s + 1)]
        for person in m.required:
            starts = iv.subtract(starts, starts_avoiding(self.busy_people.get(person, []), d))
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
            mv = MeetingVars(spec=m, index=index, duration=d, domain=domain, rooms=rooms)
            for r in rooms:
                rd = iv.subtract(domain, starts_avoiding(self.busy_rooms.get(r, []), d))
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
                usable = iv.normalize(s for r in mv.room_domains.values() for s in r) if m.needs_room else domain
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
                for a, b in iv.clip(self.busy_rooms.get(r, []), 0, self.horizon):
                    intervals.append(self.model.new_fixed_size_interval_var(a, b - a, f"busy[r{r},{a}]"))
                self.model.add_no_overlap(intervals)

    def required_by_person(self) -> dict[int, list[MeetingVars]]:
        out: dict[int, list[MeetingVars]] = defaultdict(list)
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
                for a, b in iv.clip(self.busy_people.get(person, []), 0, self.horizon):
                    intervals.append(self.model.new_fixed_size_interval_var(a, b - a, f"busy[p{person},{a}]"))
                self.model.add_no_overlap(intervals)

    def _lunch_intervals(self, person: int, mvs: list[MeetingVars]) -> list[cp_model.IntervalVar]:
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

    def add_same_day(self) -> None:
        """Pairs that must share a day: one literal per meeting and day, equal for both when both are placed."""
        if not self.p.same_day:
            return
        by_key = {mv.spec.key: mv for mv in self.vars}
        model = self.model
        day_lits: dict[int, list[cp_model.IntVar]] = {}

        def lits(mv: MeetingVars) -> list[cp_model.IntVar]:
            if mv.index not in day_lits:
                out = []
                for n, (a, b) in enumerate(self.day_spans):
                    lit = model.new_bool_var(f"day[{mv.spec.key},{n}]")
                    model.add_linear_expression_in_domain(mv.start, cp_model.Domain(a, b - 1)).only_enforce_if(lit)
                    out.append(lit)
                model.add(sum(out) == mv.placed)
                day_lits[mv.index] = out
            return day_lits[mv.index]

        for a_key, b_key in self.p.same_day:
            a, b = by_key[a_key], by_key[b_key]
            if a.dead or b.dead:
                continue
            for la, lb in zip(lits(a), lits(b), strict=True):
                model.add_implication(la, lb).only_enforce_if(b.placed)
                model.add_implication(lb, la).only_enforce_if(a.placed)

    def add_breaks(self) -> None:
        """No stretch of more than ``max_minutes`` in meetings for the delegation without a pause of
        ``break_minutes`` (a grid stretch of ``pause`` steps that no counted meeting touches).

        For every window of ``limit + 1`` steps inside a day, some free stretch of ``pause`` steps must
        overlap it; ``free[s]`` says the steps s … s+pause-1 are free of every counted meeting (the
        day's edges count as free). Exact on the grid."""
        rule = self.p.breaks
        if rule is None:
            return
        people = set(rule.people)
        counted = [mv for mv in self.vars if not mv.dead and not mv.spec.rest and people & set(mv.spec.required)]
        fixed = self.grid.busy(rule.fixed) if rule.fixed else []
        if not counted and not fixed:
            return
        g = self.grid.g
        limit = max(1, rule.max_minutes // g)
        pause = max(1, math.ceil(rule.break_minutes / g))
        model = self.model
        free: dict[int, cp_model.IntVar | bool] = {}

        def free_at(s: int, day: Steps) -> cp_model.IntVar | bool:
            if s in free:
                return free[s]
            lo, hi = max(s, day[0]), min(s + pause, day[1])
            if lo >= hi:
                free[s] = True
                return True
            if iv.overlaps(fixed, lo, hi):
                free[s] = False
                return False
            lit = model.new_bool_var(f"free[{s}]")
            for mv in counted:
                first, last = mv.domain[0][0], mv.domain[-1][1] - 1
                if last + mv.duration <= lo or first >= hi:
                    continue  # can never touch these steps
                before = model.new_bool_var(f"free_before[{s},{mv.index}]")
                model.add(mv.start >= hi).only_enforce_if([lit, mv.placed, before])
                model.add(mv.start + mv.duration <= lo).only_enforce_if([lit, mv.placed, before.Not()])
            free[s] = lit
            return lit

        for day in self.day_spans:
            for w in range(day[0], day[1] - limit):
                options = [free_at(s, day) for s in range(w - pause + 1, w + limit + 1)]
                if any(o is True for o in options):
                    continue
                lits = [o for o in options if not isinstance(o, bool)]
                if lits:  # none: booked meetings already break it there (the check reports it)
                    model.add_bool_or(lits)

    def add_optional_overlaps(self) -> None:
        """Pairs of meetings that share a person for whom at least one of the two is optional."""
        attends: dict[int, list[tuple[MeetingVars, bool]]] = defaultdict(list)
        for mv in self.vars:
            if mv.dead:
                continue
            for person in mv.spec.required:
                attends[person].append((mv, True))
            for person in mv.spec.optional:
                attends[person].append((mv, False))
        weights: dict[Steps, int] = defaultdict(int)
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
    def _may_overlap(a: MeetingVars, b: MeetingVars) -> bool:
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
                    if self.p.building_gap_hard:
                        model.add(violated == 0)
                    self.gap_violations.append(violated)
                    self.secondary_terms.append((WEIGHT_BUILDING_GAP, violated))

    def build(self) -> None:
        self.validate()
        self.add_meetings()
        self.add_rooms()
        self.add_people()
        self.add_precedence()
        self.add_same_day()
        self.add_breaks()
        self.add_optional_overlaps()
        self.add_secondary()

