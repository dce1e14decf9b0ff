"""How a scheduling problem is searched: a greedy first schedule, then CP-SAT in lexicographic stages.

``solve`` builds the model (``scheduling.model``) and searches it:

1. **placement**: as many meetings as possible, pinned ones first, starting from the better of two
   greedy first-fit passes (hardest meeting first, smallest fitting room, fewest optional overlaps);
   when the greedy schedule already places everything in order, that level is proved and skipped;
2. **optional overlap**: the fewest minutes in which an optional attendee has two things at once;
3. **preferences**: earlier starts, fewer delegation rooms, lunch breaks, walking gaps.

Each stage fixes the level above and starts from the previous stage's solution (hints). Meetings left
out are explained by ``scheduling.unplaced``.

Determinism: the search is CP-SAT's interleaved portfolio (``interleave_search``) with a fixed seed,
so the same problem gives the same answer whenever each stage ends by optimality, and always under a
deterministic work limit (``work_limit``: one round per stage); only a stage cut by the wall-clock
limit can differ. Under a wall-clock limit the optional-overlap stage restarts from its best schedule
with the next seed in growing rounds, because a single trajectory stalls on hard instances.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from ortools.sat.python import cp_model

from availability import intervals as iv
from core.metrics import solver_finished

from .model import Grid, MeetingVars, ModelBuilder, Steps
from .problem import Assignment, Problem, Solution
from .unplaced import for_meeting as explain_unplaced

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


# --- the search ------------------------------------------------------------------------------ ----------------------------------------------------------------------------------


class _Fixed:
    """A greedy schedule in the shape of a solved CpSolver (``value``), for hints and extraction."""

    def __init__(self, placed: dict[MeetingVars, tuple[int, int | None]]) -> None:
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
    """Place the problem's meetings: the best schedule found in the time (or work) limit, every meeting
    either assigned or explained."""
    solution = _solve(problem)
    solver_finished(solution.status, solution.solve_seconds)  # /metrics: visitdesk_solver_seconds
    return solution


def _solve(problem: Problem) -> Solution:
    search = _Search(problem)
    placement = search.place()
    if placement is None:
        return search.empty()
    search.fewest_overlaps()
    search.preferences()
    return search.result(placement)


class _Search:
    """One solve: the built model, its three objective levels, and what each stage found so far."""

    def __init__(self, problem: Problem) -> None:
        self.started = time.monotonic()
        self.problem = problem
        self.builder = builder = ModelBuilder(problem)
        builder.build()
        self.model, vars_ = builder.model, builder.vars
        self.deadline = self.started + max(0.05, problem.time_limit_seconds)
        pin_weight = len(vars_) + 1
        self.level1 = sum((pin_weight if mv.spec.pinned else 1) * mv.placed for mv in vars_) if vars_ else 0
        self.level1_max = sum((pin_weight if mv.spec.pinned else 1) for mv in vars_ if not mv.dead)
        self.level2 = _weighted(builder.overlap_terms)
        self.level3 = _weighted(builder.secondary_terms)
        self.hint_vars = [v for mv in vars_ for v in (mv.placed, mv.start, *mv.in_room.values())]
        self.stages: dict[str, str] = {}
        self.timings: dict[str, float] = {"model": round(time.monotonic() - self.started, 4)}
        self.first = _FirstComplete(self.level1_max, self.started)
        self.best_solver: cp_model.CpSolver | _Fixed | None = None
        self.overlap_bound: int | None = None

    def run(self, budget_share: float, callback: cp_model.CpSolverSolutionCallback | None = None, *,
            seed_offset: int = 0, cap: float | None = None) -> tuple[cp_model.CpSolver, Any]:
        problem = self.problem
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = max(1, problem.num_workers)
        params.interleave_search = INTERLEAVE
        params.random_seed = problem.seed + seed_offset
        params.log_search_progress = LOG
        budget = max(0.01, (self.deadline - time.monotonic()) * budget_share)
        params.max_time_in_seconds = min(budget, cap) if cap else budget
        if problem.work_limit is not None:
            params.max_deterministic_time = problem.work_limit * budget_share
        status = solver.solve(self.model, callback)
        return solver, status

    def keep(self, solver: cp_model.CpSolver | _Fixed) -> None:
        """Start the next stage from this solution."""
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for v in self.hint_vars:
            self.model.add_hint(v, solver.value(v))

    def place(self) -> tuple[int, bool] | None:
        """(1) Place as much as possible, pinned meetings first, starting from a greedy schedule. When the
        greedy schedule already places everything (in order), that level is proved and skipped.

        Returns the level reached and whether it is proved best, or None when nothing could be placed."""
        model, vars_, problem = self.model, self.builder.vars, self.problem
        greedy = _greedy(self.builder)
        for mv, (start, room) in greedy.items():
            model.add_hint(mv.placed, 1)
            model.add_hint(mv.start, start)
            for r, lit in mv.in_room.items():
                model.add_hint(lit, int(r == room))
        mark = time.monotonic()
        by_key = {mv.spec.key: mv for mv in vars_}
        complete = len(greedy) == sum(1 for mv in vars_ if not mv.dead) and all(
            greedy[by_key[b]][0] + by_key[b].duration <= greedy[by_key[a]][0]
            for b, a in problem.precedence if by_key[b] in greedy and by_key[a] in greedy)
        solver: cp_model.CpSolver | _Fixed
        if complete:
            self.first.at = time.monotonic() - self.started
            solver, status = _Fixed(greedy), cp_model.OPTIMAL
        else:
            model.maximize(self.level1)
            solver, status = self.run(0.6, self.first)
        self.stages["placement"] = STATUS_NAMES[status]
        self.timings["placement"] = round(time.monotonic() - mark, 4)
        fallback = status == cp_model.UNKNOWN and bool(greedy)
        if fallback:
            # Out of time before CP-SAT found a schedule: the greedy one keeps every hard rule, so it
            # stands (not proved best) and the later stages start from it.
            solver, status = _Fixed(greedy), cp_model.FEASIBLE
            self.stages["placement"] = "feasible"
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.stages = {"placement": "unknown" if status == cp_model.UNKNOWN else "infeasible"}
            return None
        pin_weight = len(self.builder.vars) + 1
        best1 = (self.level1_max if complete
                 else sum(pin_weight if mv.spec.pinned else 1 for mv in greedy) if fallback
                 else round(solver.objective_value))  # type: ignore[union-attr]
        model.add(self.level1 >= best1)
        self.keep(solver)
        self.best_solver = solver
        return best1, status == cp_model.OPTIMAL

    def fewest_overlaps(self) -> None:
        """(2) Fewest optional-attendee overlap minutes.

        Restarts from the best schedule so far with a new seed each round: one trajectory stalls (on
        the classic instance it sat at the same value from 5 s to 30 s). Rounds grow so small problems
        still get the time to prove optimality."""
        if not self.builder.overlap_terms:
            return
        model, problem = self.model, self.problem
        model.minimize(self.level2)
        mark = time.monotonic()
        stage_end = mark + (self.deadline - mark) * 0.85
        best2, round_no, status2, cap = None, 0, cp_model.UNKNOWN, STAGE2_ROUND_SECONDS
        while time.monotonic() < stage_end - 0.01:
            if problem.work_limit is not None:  # a deterministic budget: one round, no wall-clock cuts
                solver2, status = self.run(0.85)
            else:
                solver2, status = self.run(1.0, seed_offset=round_no, cap=min(cap, stage_end - time.monotonic()))
            round_no += 1
            cap *= STAGE2_GROWTH
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
            value = round(solver2.objective_value)
            self.overlap_bound = max(self.overlap_bound or 0, round(solver2.best_objective_bound))
            if best2 is None or value < best2:
                best2, self.best_solver, status2 = value, solver2, status
                self.keep(solver2)
            if status == cp_model.OPTIMAL:
                status2 = status  # proved: nothing is below best2
                break
            if problem.work_limit is not None:
                break
        self.stages["optional_overlap"] = STATUS_NAMES[status2] if best2 is not None else "unknown"
        self.timings["optional_overlap"] = round(time.monotonic() - mark, 4)
        if best2 is not None:
            model.add(self.level2 <= best2)

    def preferences(self) -> None:
        """(3) Earlier, fewer delegation rooms, lunch, walking gaps (at most ``preference_seconds``)."""
        self.model.minimize(self.level3)
        mark = time.monotonic()
        solver3, status3 = self.run(1.0, cap=self.problem.preference_seconds)
        self.stages["preferences"] = STATUS_NAMES[status3]
        self.timings["preferences"] = round(time.monotonic() - mark, 4)
        if status3 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.best_solver = solver3

    def result(self, placement: tuple[int, bool]) -> Solution:
        best1, placement_proved = placement
        builder = self.builder
        assert self.best_solver is not None  # set by place()
        all_placed = best1 == self.level1_max and not any(mv.dead for mv in builder.vars)
        optimal = all(s == "optimal" for s in self.stages.values())
        overall = "infeasible" if placement_proved else "unknown"
        if all_placed:
            overall = "optimal" if optimal else "feasible"
        solution = _extract(builder, self.best_solver, self.problem, self.started, overall, self.stages)
        bound = self.overlap_bound * builder.grid.g if self.overlap_bound is not None else 0
        return Solution(
            status=solution.status,
            assignments=solution.assignments,
            unplaced=solution.unplaced,
            objective={**solution.objective, "optional_overlap_bound_minutes": bound, "stage_seconds": self.timings},
            solve_seconds=solution.solve_seconds,
            first_complete_seconds=self.first.at if all_placed else None,
        )

    def empty(self) -> Solution:
        """Nothing placed: the placement stage found no schedule at all (proved or out of time)."""
        return _empty(self.builder, self.problem, self.started, self.stages["placement"])


def _greedy(builder: ModelBuilder) -> dict[MeetingVars, tuple[int, int | None]]:
    """The better of two greedy passes: one that avoids optional overlaps, one that only packs early."""
    careful = _greedy_pass(builder, soft=True)
    if len(careful) == sum(1 for mv in builder.vars if not mv.dead):
        return careful
    packed = _greedy_pass(builder, soft=False)
    return packed if len(packed) > len(careful) else careful


def _greedy_pass(builder: ModelBuilder, *, soft: bool) -> dict[MeetingVars, tuple[int, int | None]]:
    """A quick first schedule to start the search from: hardest meetings first, then for each the slot
    and smallest fitting room that keep required people and rooms free and add the fewest minutes of
    optional-attendee overlap (earliest on ties). The solver repairs and improves it."""
    people_busy: dict[int, list[Steps]] = defaultdict(list)
    room_busy: dict[int, list[Steps]] = defaultdict(list)
    attending: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)  # person -> (start, end, required)

    def options(mv: MeetingVars) -> int:
        pool = mv.room_domains.values() if mv.spec.needs_room else [mv.domain]
        return sum(b - a for spans in pool for a, b in spans)

    def soft_cost(mv: MeetingVars, a: int, b: int) -> int:
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
    out: dict[MeetingVars, tuple[int, int | None]] = {}
    by_key = {mv.spec.key: mv for mv in builder.vars}
    before = defaultdict(list)  # key -> meetings that must end before it starts
    after = defaultdict(list)
    for b, a in builder.p.precedence:
        before[a].append(by_key[b])
        after[b].append(by_key[a])
    rules = _GreedyRules(builder)
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
            if any(iv.overlaps(people_busy[p], s, e) for p in mv.spec.required):
                continue
            if not rules.time_ok(mv, s, e, out):
                continue
            room = next((r for r in rooms if r is None or (any(a <= s < b for a, b in mv.room_domains[r])
                                                          and not iv.overlaps(room_busy[r], s, e)
                                                          and rules.room_ok(mv, s, e, r))), False)
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
        rules.place(mv, s, e, room)
        out[mv] = (s, room)
    return out


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

    def room_ok(self, mv: MeetingVars, s: int, e: int, room: int) -> bool:
        if not self.gap:
            return True
        building = self.b.rooms[room].building
        for person in mv.spec.required:
            for a, b, other in self.where[person]:
                if other != building and a < e + self.gap and s < b + self.gap:
                    return False
        return True

    def place(self, mv: MeetingVars, s: int, e: int, room: int | None) -> None:
        if self.counted(mv):
            self.delegation_busy = iv.normalize([*self.delegation_busy, (s, e)])
        if room is not None:
            for person in mv.spec.required:
                self.where[person].append((s, e, self.b.rooms[room].building))


def _extract(builder: ModelBuilder, solver: cp_model.CpSolver | _Fixed, problem: Problem, started: float, status: str,
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
    unplaced = [explain_unplaced(builder, mv, assignments) for mv in builder.vars if mv.index not in placed_ix]
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
    grid = Grid(problem)
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


def _empty(builder: ModelBuilder, problem: Problem, started: float, status: str) -> Solution:
    unplaced = tuple(explain_unplaced(builder, mv, []) for mv in builder.vars)
    objective = {"placed": 0, "unplaced": len(unplaced), "optional_overlap_minutes": 0,
                 "optional_overlap_bound_minutes": 0, "stages": {"placement": status}}
    return Solution(status, (), unplaced, objective, round(time.monotonic() - started, 4))

