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

from django.utils import dateformat, translation
from ortools.sat.python import cp_model

from availability import intervals as iv
from availability.intervals import Interval, Span

from .deadline import Deadline
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
        self._labels: dict[tuple[int, int, str | None], str] = {}

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
        key = (a, b, translation.get_language())
        if key not in self._labels:  # explanations name the same day spans again and again
            start, end = self.at(a).astimezone(self.zone), self.at(b).astimezone(self.zone)
            self._labels[key] = f"{dateformat.format(start, 'D j M H:i')}–{end:%H:%M}"  # names in the active language
        return self._labels[key]



# --- the model --------------------------------------------------------------------------------


@dataclass(eq=False)
class RoomClass:
    """Rooms that no schedule can tell apart: the same building, the same busy times on the grid and the
    same meetings that may use them (capacity, candidate lists and pins included). The model gives a
    meeting one literal per class and lets at most ``len(rooms)`` of its meetings run at once; which
    room of the class each one gets is decided after solving (``ModelBuilder.concrete_rooms``)."""

    id: int
    rooms: tuple[int, ...]  # smallest first: the room a lone meeting gets
    building: str
    busy: list[Steps]

    @property
    def size(self) -> int:
        return len(self.rooms)


@dataclass(eq=False)
class MeetingVars:
    spec: MeetingSpec
    index: int
    duration: int
    domain: list[Steps]  # allowed start spans after days, windows and required people
    rooms: list[int]  # candidate room ids (big enough, offered, pinned)
    #: Start spans per room class (``RoomClass.id``) where one of its rooms is free; only classes with some.
    class_domains: dict[int, list[Steps]] = field(default_factory=dict)
    # Set by ModelBuilder.build (they need the model and the domain).
    placed: cp_model.IntVar = field(init=False, repr=False)
    start: cp_model.IntVar = field(init=False, repr=False)
    interval: cp_model.IntervalVar = field(init=False, repr=False)
    in_class: dict[int, cp_model.IntVar] = field(default_factory=dict)
    dead: str = ""  # why it cannot be placed at all (found before solving)

    def options(self, classes: Sequence[RoomClass]) -> int:
        """Start and room choices (a class counts once per room): the greedy places the scarcest first."""
        if not self.spec.needs_room:
            return sum(b - a for a, b in self.domain)
        return sum(classes[c].size * (b - a) for c, spans in self.class_domains.items() for a, b in spans)


class ModelBuilder:
    """States a ``Problem`` for CP-SAT in two steps: ``prepare`` (validation, domains, room classes: plain
    Python, all the greedy schedule needs) and ``build`` (the CP-SAT variables and constraints, which
    ``build`` cuts short with ``OutOfTime`` when the deadline passes)."""

    def __init__(self, problem: Problem, *, collapse_rooms: bool = True):
        self.p = problem
        self.collapse_rooms = collapse_rooms
        self.grid = Grid(problem)
        self.model = cp_model.CpModel()
        self.rooms = {r.id: r for r in problem.rooms}
        self.day_spans = iv.normalize(self.grid.window(a, b) for a, b in problem.days)
        self.horizon = max(b for _, b in self.day_spans) if self.day_spans else 0
        self.busy_people = {p: self.grid.busy(v) for p, v in problem.busy_people.items()}
        self.busy_rooms = {r: self.grid.busy(v) for r, v in problem.busy_rooms.items()}
        self.vars: list[MeetingVars] = []
        self.classes: list[RoomClass] = []
        self.class_of: dict[int, int] = {}  # room id -> RoomClass.id (rooms some meeting may use)
        self.overlap_terms: list[tuple[int, cp_model.LinearExpr]] = []  # (weight, units)
        self.secondary_terms: list[tuple[int, cp_model.LinearExpr]] = []
        self.lunch_missed: list[cp_model.IntVar] = []
        self.gap_violations: list[cp_model.IntVar] = []
        self.delegation_rooms: list[cp_model.IntVar] = []
        self.prepared = False
        self.built = False

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
        key_set = set(keys)
        for before, after in p.precedence:
            if before not in key_set or after not in key_set:
                raise ProblemError(f"Unknown meeting in precedence {before!r} → {after!r}.", field="precedence")
        for a, b in p.same_day:
            if a not in key_set or b not in key_set:
                raise ProblemError(f"Unknown meeting in same-day pair {a!r}, {b!r}.", field="same_day")

    # domains and room classes ----------------------------------------------------------------

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

    def _candidate_rooms(self, m: MeetingSpec) -> list[int]:
        """The rooms the meeting may use at all: offered to it (or pinned) and big enough."""
        if not m.needs_room:
            return []
        seats = m.seats
        if m.pinned and m.pinned.room is not None:
            return [m.pinned.room] if self.rooms[m.pinned.room].capacity >= seats else []
        pool = m.rooms if m.rooms is not None else list(self.rooms)
        return [r for r in pool if self.rooms[r].capacity >= seats]

    def _room_classes(self, candidates: list[list[int]], domains: list[list[Steps]]) -> None:
        """Group the rooms some meeting may use into classes of interchangeable ones.

        Rooms are interchangeable when the same meetings may use them, they are in the same building
        and busy at the same grid steps (closures, bookings). A room a delegation's meeting may use
        stays alone: "fewer rooms for the delegation" counts rooms, not classes. A meeting that can
        never start (empty domain) is no reason to tell rooms apart."""
        members: dict[int, list[int]] = defaultdict(list)
        for index, rooms in enumerate(candidates):
            if domains[index]:
                for r in rooms:
                    members[r].append(index)
        delegation = set(self.p.delegation)
        escorted = {i for i, m in enumerate(self.p.meetings)
                    if delegation and delegation & (set(m.required) | set(m.optional))}
        groups: dict[tuple[object, ...], list[int]] = {}
        for r in sorted(members, key=lambda r: (self.rooms[r].capacity, r)):
            busy = tuple(self.busy_rooms.get(r, []))
            alone = not self.collapse_rooms or any(i in escorted for i in members[r])
            key = ("room", r) if alone else (self.rooms[r].building, busy, tuple(members[r]))
            groups.setdefault(key, []).append(r)
        for rooms in groups.values():
            first = rooms[0]
            room_class = RoomClass(id=len(self.classes), rooms=tuple(rooms), building=self.rooms[first].building,
                                   busy=list(self.busy_rooms.get(first, [])))
            self.classes.append(room_class)
            for r in rooms:
                self.class_of[r] = room_class.id

    def prepare(self) -> None:
        """Validate, then every meeting's start domain, candidate rooms and per-class start domains."""
        if self.prepared:
            return
        self.validate()
        durations, domains, candidates = [], [], []
        for m in self.p.meetings:
            d = max(1, math.ceil(m.duration_minutes / self.grid.g))
            durations.append(d)
            domains.append(self._pinned_domain(m, d) if m.pinned else self._base_domain(m, d))
            candidates.append(self._candidate_rooms(m))
        self._room_classes(candidates, domains)
        avoiding: dict[tuple[int, int], list[Steps]] = {}
        for index, m in enumerate(self.p.meetings):
            d, domain = durations[index], domains[index]
            mv = MeetingVars(spec=m, index=index, duration=d, domain=domain, rooms=candidates[index])
            if domain:
                for c in sorted({self.class_of[r] for r in mv.rooms}):
                    busy = self.classes[c].busy
                    if busy:
                        if (c, d) not in avoiding:
                            avoiding[c, d] = starts_avoiding(busy, d)
                        spans = iv.subtract(domain, avoiding[c, d])
                    else:
                        spans = domain
                    if spans:
                        mv.class_domains[c] = spans
            if not domain or (m.needs_room and not mv.class_domains):
                mv.dead = "x"  # explained after solving, with the full picture
            self.vars.append(mv)
        self.prepared = True

    def concrete_rooms(self, chosen: dict[int, tuple[int, int]]) -> dict[int, int]:
        """Rooms for meetings placed in room classes: ``chosen`` maps a meeting index to (start, class).

        Meetings of a class are taken by start time and each gets the first of its rooms (smallest
        first) that is free by then. The model let at most ``size`` of them run at once, so a free
        room is always there (interval graphs need no more colours than their largest clique)."""
        by_class: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for index, (start, c) in chosen.items():
            by_class[c].append((start, start + self.vars[index].duration, index))
        out: dict[int, int] = {}
        for c, items in by_class.items():
            rooms = self.classes[c].rooms
            first = min(s for s, _e, _i in items)
            free_at = [first] * len(rooms)
            for s, e, index in sorted(items):
                n = next((k for k, t in enumerate(free_at) if t <= s), None)
                if n is None:  # cannot happen for a schedule the model accepts
                    raise AssertionError(f"room class {c} over-booked at step {s}")
                free_at[n] = e
                out[index] = rooms[n]
        return out

    # variables -------------------------------------------------------------------------------

    def add_meetings(self, deadline: Deadline | None = None) -> None:
        model = self.model
        for mv in self.vars:
            if deadline is not None and mv.index % 32 == 0:
                deadline.check()
            m, d, domain = mv.spec, mv.duration, mv.domain
            mv.placed = model.new_bool_var(f"placed[{m.key}]")
            if mv.dead:
                model.add(mv.placed == 0)
                lo = domain[0][0] if domain else 0
                mv.start = model.new_int_var(lo, lo, f"start[{m.key}]")
            else:
                usable = (iv.normalize(s for spans in mv.class_domains.values() for s in spans) if m.needs_room
                          else domain)
                mv.start = model.new_int_var_from_domain(
                    cp_model.Domain.from_intervals([[a, b - 1] for a, b in usable]), f"start[{m.key}]"
                )
                if m.needs_room:
                    if len(mv.class_domains) == 1:
                        # One class: "in it" is "placed", and its domain is the start's own.
                        mv.in_class[next(iter(mv.class_domains))] = mv.placed
                    else:
                        for c, spans in mv.class_domains.items():
                            lit = model.new_bool_var(f"room[{m.key},{c}]")
                            mv.in_class[c] = lit
                            if spans != usable:
                                model.add_linear_expression_in_domain(
                                    mv.start, cp_model.Domain.from_intervals([[a, b - 1] for a, b in spans])
                                ).only_enforce_if(lit)
                        model.add(sum(mv.in_class.values()) == mv.placed)
            mv.interval = model.new_optional_fixed_size_interval_var(mv.start, d, mv.placed, f"iv[{m.key}]")

    # constraints -----------------------------------------------------------------------------

    def add_rooms(self) -> None:
        # Redundant but strong: at any moment at most as many room meetings as rooms.
        roomed = [mv.interval for mv in self.vars if mv.in_class]
        capacity = sum(c.size for c in self.classes)
        if len(roomed) > capacity > 0:
            self.model.add_cumulative(roomed, [1] * len(roomed), capacity)
        for room_class in self.classes:
            intervals = []
            for mv in self.vars:
                lit = mv.in_class.get(room_class.id)
                if lit is None:
                    continue
                intervals.append(mv.interval if lit is mv.placed else self.model.new_optional_fixed_size_interval_var(
                    mv.start, mv.duration, lit, f"iv[{mv.spec.key},c{room_class.id}]"))
            # The class's busy times are already out of every member's domain.
            if len(intervals) > room_class.size == 1:
                self.model.add_no_overlap(intervals)
            elif len(intervals) > room_class.size:
                self.model.add_cumulative(intervals, [1] * len(intervals), room_class.size)

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

    def add_optional_overlaps(self, deadline: Deadline | None = None) -> None:
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
        for n, ((i, j), weight) in enumerate(sorted(weights.items())):
            if deadline is not None and n % 256 == 0:
                deadline.check()
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
            # Rooms a delegation's meeting may use are classes of their own (``_room_classes``).
            for room_class in self.classes:
                c = room_class.id
                lits = [mv.in_class[c] for mv in self.vars if c in mv.in_class
                        and delegation & (set(mv.spec.required) | set(mv.spec.optional))]
                if lits:
                    used = model.new_bool_var(f"delegation_room[{room_class.rooms[0]}]")
                    for lit in lits:
                        model.add_implication(lit, used)
                    self.delegation_rooms.append(used)
                    self.secondary_terms.append((WEIGHT_DELEGATION_ROOM, used))
        if not self.p.building_gap_hard:  # a hard gap is part of the hard model
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
            if mv.in_class:
                var = model.new_int_var(0, len(buildings) - 1, f"building[{mv.index}]")
                model.add(var == sum(index[self.classes[c].building] * lit for c, lit in mv.in_class.items()))
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

    def build_hard(self, deadline: Deadline | None = None) -> None:
        """Variables and hard rules: all the placement stage needs. With a ``deadline``, raises
        ``OutOfTime`` once it has passed (the caller answers with the greedy schedule instead)."""
        self.prepare()
        self.add_meetings(deadline)
        steps = [self.add_rooms, self.add_people, self.add_precedence, self.add_same_day, self.add_breaks]
        if self.p.building_gap_hard:
            steps.append(self._add_building_gaps)
        for step in steps:
            if deadline is not None:
                deadline.check()
            step()

    def build_soft(self, deadline: Deadline | None = None) -> None:
        """The terms of the optional-overlap and preference levels (``OutOfTime`` as in ``build_hard``;
        the hard model stays valid, only the stages that need these terms are dropped)."""
        self.add_optional_overlaps(deadline)
        if deadline is not None:
            deadline.check()
        self.add_secondary()
        self.built = True

    def build(self, deadline: Deadline | None = None) -> None:
        self.build_hard(deadline)
        self.build_soft(deadline)
