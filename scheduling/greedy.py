"""The first-fit schedule the search starts from, and the floor of every answer.

Hardest meetings first (pinned, then fewest start and room choices, longest, most required people),
each at the start that adds the fewest optional-overlap minutes (earliest on ties; a second pass packs
earliest only) in the smallest room class with a free room. It keeps every hard rule, so whatever
CP-SAT does with the rest of the time limit, the answer never places fewer meetings than this.

Vectorised over the problem's time axis: only the steps inside the days (and pinned meetings) exist,
with a wall between days, and each person's and room class's occupancy is a numpy row, so a meeting
costs a few array operations instead of a loop over starts × rooms × placed meetings (400 meetings in
a few tens of milliseconds instead of seconds).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from availability import intervals as iv

from .model import MeetingVars, ModelBuilder, Steps

#: A greedy schedule: meeting -> (start step, room class id or None for a meeting without a room).
Schedule = dict[MeetingVars, tuple[int, int | None]]


def greedy(builder: ModelBuilder) -> Schedule:
    """The better of two passes: one that avoids optional overlaps, one that only packs early."""
    masks: dict[tuple[int, int | None], np.ndarray] = {}  # shared by both passes
    careful = _Pass(builder, masks, soft=True).run()
    if len(careful) == sum(1 for mv in builder.vars if not mv.dead):
        return careful
    packed = _Pass(builder, masks, soft=False).run()
    return packed if len(packed) > len(careful) else careful


class _Axis:
    """Grid steps that matter laid end to end, one blocked cell between separate stretches, so a
    window of ``d`` free cells is a start where a meeting of ``d`` steps fits inside one stretch."""

    def __init__(self, spans: list[Steps]) -> None:
        self.segments: list[tuple[int, int, int]] = []  # (first step, end step, first position)
        pos = 0
        for a, b in spans:
            self.segments.append((a, b, pos))
            pos += b - a + 1
        self.width = max(1, pos)
        self.wall = np.zeros(self.width, dtype=bool)
        for a, b, p in self.segments:
            if p + b - a < self.width:
                self.wall[p + b - a] = True
        #: The step at each position (walls: -1).
        self.steps = np.full(self.width, -1, dtype=np.int64)
        for a, b, p in self.segments:
            self.steps[p:p + b - a] = np.arange(a, b)

    def positions(self, spans: Sequence[Steps]) -> list[tuple[int, int]]:
        """``spans`` of steps as position ranges (the parts outside the axis dropped)."""
        out = []
        for a, b in spans:
            for sa, sb, p in self.segments:
                lo, hi = max(a, sa), min(b, sb)
                if lo < hi:
                    out.append((p + lo - sa, p + hi - sa))
        return out

    def mask(self, spans: Sequence[Steps]) -> np.ndarray:
        out = np.zeros(self.width, dtype=bool)
        for a, b in self.positions(spans):
            out[a:b] = True
        return out



def _windows(row: np.ndarray, d: int) -> np.ndarray:
    """Sums of ``row`` over every window of ``d`` cells (one per start position, ``len(row) - d + 1``)."""
    sums = np.concatenate(([0], np.cumsum(row, dtype=np.int64)))
    return sums[d:] - sums[:-d]


class _Pass:
    def __init__(self, builder: ModelBuilder, masks: dict[tuple[int, int | None], np.ndarray], *,
                 soft: bool) -> None:
        self.b = builder
        self.masks = masks
        self.soft = soft
        live = [mv for mv in builder.vars if not mv.dead]
        spans = list(builder.day_spans)
        spans += [(a, b - 1 + mv.duration) for mv in live for a, b in mv.domain if mv.spec.pinned]
        self.axis = _Axis(iv.normalize(spans))
        self.live = live
        w = self.axis.width
        self.required_busy: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(w, dtype=bool))
        self.attending: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(w, dtype=np.int32))
        self.optional_in: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(w, dtype=np.int32))
        self.busy_cache: dict[int, np.ndarray] = {}
        self.class_use = [np.zeros(w, dtype=np.int32) for _ in builder.classes]

    def mask(self, mv: MeetingVars, room_class: int | None) -> np.ndarray:
        """Start positions allowed by the meeting's domain (in a room of ``room_class``, if given)."""
        key = (mv.index, room_class)
        if key not in self.masks:
            spans = mv.domain if room_class is None else mv.class_domains[room_class]
            self.masks[key] = self.axis.mask(spans)[:max(0, self.axis.width - mv.duration + 1)]
        return self.masks[key]

    def existing(self, person: int) -> np.ndarray:
        """The person's busy time as 0/1 per cell (for optional overlap only: required busy is out of the domain)."""
        if person not in self.busy_cache:
            row = np.zeros(self.axis.width, dtype=np.int32)
            for a, b in self.axis.positions(self.b.busy_people.get(person, ())):
                row[a:b] = 1
            self.busy_cache[person] = row
        return self.busy_cache[person]

    def run(self) -> dict[MeetingVars, tuple[int, int | None]]:
        builder, axis = self.b, self.axis
        classes = builder.classes
        order = sorted(self.live, key=lambda mv: (not mv.spec.pinned, mv.options(classes), -mv.duration,
                                                  -len(mv.spec.required), mv.index))
        out: dict[MeetingVars, tuple[int, int | None]] = {}
        by_key = {mv.spec.key: mv for mv in builder.vars}
        before: dict[str, list[MeetingVars]] = defaultdict(list)  # key -> meetings that must end before it starts
        after: dict[str, list[MeetingVars]] = defaultdict(list)
        for b, a in builder.p.precedence:
            before[a].append(by_key[b])
            after[b].append(by_key[a])
        rules = _GreedyRules(builder)
        for mv in order:
            d, m = mv.duration, mv.spec
            n = axis.width - d + 1
            if n <= 0:
                continue
            blocked = axis.wall.copy()
            for p in m.required:
                if p in self.required_busy:
                    blocked |= self.required_busy[p]
            ok = (_windows(blocked, d) == 0) & self.mask(mv, None)
            earliest = max((out[p][0] + p.duration for p in before[m.key] if p in out), default=None)
            latest = min((out[q][0] for q in after[m.key] if q in out), default=None)
            starts_ok = ok
            room_ok: list[tuple[int, np.ndarray]] = []
            if m.needs_room:
                any_room = np.zeros(n, dtype=bool)
                for c in sorted(mv.class_domains):
                    full = self.class_use[c] >= classes[c].size
                    free = (_windows(full, d) == 0) & self.mask(mv, c)
                    room_ok.append((c, free))
                    any_room |= free
                starts_ok = ok & any_room
            candidates = np.flatnonzero(starts_ok)
            if candidates.size == 0:
                continue
            steps = axis.steps[candidates]
            keep = np.ones(candidates.size, dtype=bool)
            if earliest is not None:
                keep &= steps >= earliest
            if latest is not None:
                keep &= steps + d <= latest
            candidates, steps = candidates[keep], steps[keep]
            if candidates.size == 0:
                continue
            if self.soft:
                cost = _windows(self.cost_row(mv), d)[candidates]
                ranked = np.lexsort((steps, cost))
            else:
                ranked = np.argsort(steps, kind="stable")
            choice = self.choose(mv, rules, out, candidates, steps, ranked, room_ok)
            if choice is None:
                continue
            q, start, chosen = choice
            self.place(mv, q, chosen)
            rules.place(mv, start, start + d, classes[chosen].building if chosen is not None else None)
            out[mv] = (start, chosen)
        return out

    def choose(self, mv: MeetingVars, rules: _GreedyRules, out: dict[MeetingVars, tuple[int, int | None]],
               candidates: np.ndarray, steps: np.ndarray, ranked: np.ndarray,
               room_ok: list[tuple[int, np.ndarray]]) -> tuple[int, int, int | None] | None:
        """The first start in rank order that the programme rules allow, with the smallest free room class."""
        d = mv.duration
        for k in ranked:
            q, s = int(candidates[k]), int(steps[k])
            if rules.active and not rules.time_ok(mv, s, s + d, out):
                continue
            if not mv.spec.needs_room:
                return q, s, None
            for c, free in room_ok:
                if free[q] and rules.room_ok(mv, s, s + d, self.b.classes[c].building):
                    return q, s, c
        return None

    def cost_row(self, mv: MeetingVars) -> np.ndarray:
        """Per cell: how many optional-overlap units a meeting there adds (as the model counts them)."""
        row = np.zeros(self.axis.width, dtype=np.int32)
        for p in mv.spec.optional:
            if p in self.attending:
                row += self.attending[p]
            if self.b.busy_people.get(p):
                row += self.existing(p)
        for p in mv.spec.required:
            if p in self.optional_in:
                row += self.optional_in[p]
        return row

    def place(self, mv: MeetingVars, q: int, c: int | None) -> None:
        e = q + mv.duration
        for p in mv.spec.required:
            self.required_busy[p][q:e] = True
            self.attending[p][q:e] += 1
        for p in mv.spec.optional:
            self.attending[p][q:e] += 1
            self.optional_in[p][q:e] += 1
        if c is not None:
            self.class_use[c][q:e] += 1


class _GreedyRules:
    """The programme rules the greedy schedule keeps itself (so a complete greedy schedule is a valid
    one): topics with one host on one day, the delegation's breaks, the walking gap when it is hard."""

    def __init__(self, builder: ModelBuilder) -> None:
        self.b = builder
        p = builder.p
        self.partners: dict[str, list[str]] = defaultdict(list)
        for a, b in p.same_day:
            self.partners[a].append(b)
            self.partners[b].append(a)
        self.breaks = p.breaks
        self.people = set(p.breaks.people) if p.breaks else set()
        self.delegation_busy: list[Steps] = builder.grid.busy(p.breaks.fixed) if p.breaks else []
        g = builder.grid.g
        self.limit = max(1, p.breaks.max_minutes // g) if p.breaks else 0
        self.pause = max(1, math.ceil(p.breaks.break_minutes / g)) if p.breaks else 0
        self.gap = math.ceil(p.building_gap_minutes / g) if p.building_gap_hard and p.building_gap_minutes else 0
        self.where: dict[int, list[tuple[int, int, str]]] = defaultdict(list)  # person -> (start, end, building)
        self.by_key = {mv.spec.key: mv for mv in builder.vars}
        self.active = bool(self.partners) or bool(self.breaks)

    def day(self, s: int) -> int:
        return next((n for n, (a, b) in enumerate(self.b.day_spans) if a <= s < b), -1)

    def counted(self, mv: MeetingVars) -> bool:
        return bool(self.breaks) and not mv.spec.rest and bool(self.people & set(mv.spec.required))

    def time_ok(self, mv: MeetingVars, s: int, e: int, placed: dict[MeetingVars, tuple[int, int | None]]) -> bool:
        for key in self.partners.get(mv.spec.key, ()):
            other = self.by_key[key]
            if other in placed and self.day(placed[other][0]) != self.day(s):
                return False
        if self.counted(mv):
            day = self.b.day_spans[self.day(s)] if self.day(s) >= 0 else (s, e)
            spans = iv.normalize([*iv.clip(self.delegation_busy, day[0], day[1]), (s, e)])
            run_start, run_end = None, None
            for a, b in spans:
                if run_end is not None and a - run_end < self.pause:
                    run_end = max(run_end, b)
                else:
                    run_start, run_end = a, b
                if run_start is not None and run_end - run_start > self.limit:
                    return False
        return True

    def room_ok(self, mv: MeetingVars, s: int, e: int, building: str) -> bool:
        if not self.gap:
            return True
        for person in mv.spec.required:
            for a, b, other in self.where[person]:
                if other != building and a < e + self.gap and s < b + self.gap:
                    return False
        return True

    def place(self, mv: MeetingVars, s: int, e: int, building: str | None) -> None:
        if self.counted(mv):
            self.delegation_busy = iv.normalize([*self.delegation_busy, (s, e)])
        if building is not None:
            for person in mv.spec.required:
                self.where[person].append((s, e, building))
