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

from core.metrics import solver_finished

from .deadline import Deadline, OutOfTime
from .greedy import Schedule, greedy
from .model import Grid, MeetingVars, ModelBuilder
from .problem import Assignment, Problem, Solution
from .unplaced import explain_all

#: CP-SAT's deterministic interleaved portfolio (same answer for the same input and seed).
INTERLEAVE = True
#: CP-SAT's search log on stdout, for debugging a model.
LOG = False
#: Rounds of the optional-overlap stage in CP-SAT's deterministic seconds (else wall-clock seconds).
ROUNDS_IN_WORK = True
#: First round of the optional-overlap stage; each further round gets STAGE2_GROWTH times more.
STAGE2_ROUND_SECONDS = 1.0
STAGE2_ROUND_WORK = 0.1
STAGE2_GROWTH = 1.25
#: The placement stage's share of what is left when the greedy schedule does not place everything.
PLACEMENT_SHARE = 0.6
#: Placement runs in rounds while they place more: the first gets this share of what is left (at
#: least PLACEMENT_ROUND_SECONDS), each further one STAGE2_GROWTH times more, all together at most
#: PLACEMENT_SHARE; a round that places nothing more hands the rest to the overlap stage.
PLACEMENT_FIRST_ROUND = 0.35
PLACEMENT_ROUND_SECONDS = 0.5
#: Interchangeable rooms as one class in the model (off: one literal per room, as before classes; tests
#: compare both).
COLLAPSE_ROOMS = True
#: Kept back from the search for the answer: assigning rooms in classes, explaining what is left out.
ANSWER_RESERVE_SECONDS = 0.03
ANSWER_RESERVE_PER_MEETING = 0.0005

STATUS_NAMES = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


# --- the search ------------------------------------------------------------------------------


class _Fixed:
    """A greedy schedule in the shape of a solved CpSolver (``value``), for hints and extraction."""

    def __init__(self, builder: ModelBuilder, placed: Schedule) -> None:
        self.values: dict[int, int] = {}
        for mv in builder.vars:
            if mv.dead:
                continue
            self.values[mv.placed.index] = 0
            self.values[mv.start.index] = _lowest(mv.start)
            for lit in mv.in_class.values():
                self.values[lit.index] = 0
        for mv, (start, room_class) in placed.items():
            self.values[mv.start.index] = start
            for c, lit in mv.in_class.items():
                self.values[lit.index] = int(c == room_class)
            self.values[mv.placed.index] = 1

    def value(self, var: Any) -> int:
        return self.values.get(var.index, 0) if hasattr(var, "index") else 0


def _lowest(var: cp_model.IntVar) -> int:
    domain = var.proto.domain
    return int(domain[0]) if domain else 0


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


def solve(problem: Problem, *, deadline: Deadline | None = None) -> Solution:
    """Place the problem's meetings: the best schedule found in the time (or work) limit, every meeting
    either assigned or explained. ``deadline`` is the request's clock (started when the request came
    in); without one the limit counts from now. Never fewer meetings than the greedy schedule."""
    solution = _Search(problem, deadline or Deadline(problem.time_limit_seconds)).solve()
    solver_finished(solution.status, solution.solve_seconds)  # /metrics: visitdesk_solver_seconds
    return solution


def answer_reserve(meetings: int) -> float:
    """Seconds kept back from the search for writing the answer (room assignment, explanations)."""
    return ANSWER_RESERVE_SECONDS + ANSWER_RESERVE_PER_MEETING * meetings


class _Search:
    """One solve: the greedy schedule, the built model, its three objective levels, and the best
    schedule known so far (never dropped: a stage that finds nothing better leaves it standing)."""

    def __init__(self, problem: Problem, deadline: Deadline) -> None:
        self.problem = problem
        self.deadline = deadline
        self.started = deadline.started
        self.builder = builder = ModelBuilder(problem, collapse_rooms=COLLAPSE_ROOMS)
        builder.prepare()  # validation: a malformed problem fails here, before any search
        #: The search's own end: the request's deadline less the time the answer takes to write.
        self.search_end = deadline.less(answer_reserve(len(problem.meetings)))
        vars_ = builder.vars
        self.pin_weight = len(vars_) + 1
        self.level1_max = sum(self.weight(mv) for mv in vars_ if not mv.dead)
        self.stages: dict[str, str] = {}
        self.timings: dict[str, float] = {"prepare": round(deadline.elapsed(), 4)}
        self.first = _FirstComplete(self.level1_max, self.started)
        self.best: cp_model.CpSolver | _Fixed | None = None
        self.best1 = 0
        self.placement_proved = False
        self.overlap_bound: int | None = None

    def weight(self, mv: MeetingVars) -> int:
        return self.pin_weight if mv.spec.pinned else 1

    # --- the stages ---------------------------------------------------------------------------

    def solve(self) -> Solution:
        builder = self.builder
        mark = time.monotonic()
        self.greedy = greedy(builder)
        self.timings["greedy"] = round(time.monotonic() - mark, 4)
        self.greedy_level1 = sum(self.weight(mv) for mv in self.greedy)
        by_key = {mv.spec.key: mv for mv in builder.vars}
        self.complete = self.greedy_level1 == self.level1_max and all(
            self.greedy[by_key[b]][0] + by_key[b].duration <= self.greedy[by_key[a]][0]
            for b, a in self.problem.precedence if by_key[b] in self.greedy and by_key[a] in self.greedy)
        if self.complete:
            self.first.at = self.deadline.elapsed()
        mark = time.monotonic()
        try:
            builder.build_hard(self.search_end)
        except OutOfTime:
            # No time for CP-SAT at all: the greedy schedule is the answer (it keeps every hard rule).
            self.timings["model"] = round(time.monotonic() - mark, 4)
            self.stages["placement"] = "optimal" if self.complete else "unknown"
            self.placement_proved = self.complete
            return self.answer_greedy()
        self.timings["model"] = round(time.monotonic() - mark, 4)
        vars_ = builder.vars
        self.model = builder.model
        self.level1 = sum(self.weight(mv) * mv.placed for mv in vars_) if vars_ else 0
        hint_vars: dict[int, Any] = {}
        for mv in vars_:
            for v in (mv.placed, mv.start, *mv.in_class.values()):
                hint_vars.setdefault(v.index, v)
        self.hint_vars = list(hint_vars.values())
        self.keep(_Fixed(builder, self.greedy))
        self.place()
        mark = time.monotonic()
        try:
            builder.build_soft(self.search_end)
        except OutOfTime:
            # Placement is what matters most; the lower levels need terms there was no time to state.
            self.timings["model_soft"] = round(time.monotonic() - mark, 4)
            self.stages.update(optional_overlap="unknown", preferences="unknown")
            return self.result()
        self.timings["model_soft"] = round(time.monotonic() - mark, 4)
        self.level2 = _weighted(builder.overlap_terms)
        self.level3 = _weighted(builder.secondary_terms)
        self.fewest_overlaps()
        self.preferences()
        return self.result()

    def run(self, budget_share: float, callback: cp_model.CpSolverSolutionCallback | None = None, *,
            seed_offset: int = 0, cap: float | None = None, work: float | None = None,
            ) -> tuple[cp_model.CpSolver, Any]:
        problem = self.problem
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = max(1, problem.num_workers)
        params.interleave_search = INTERLEAVE
        params.random_seed = problem.seed + seed_offset
        params.log_search_progress = LOG
        budget = max(0.01, self.search_end.remaining() * budget_share)
        params.max_time_in_seconds = min(budget, cap) if cap else budget
        if problem.work_limit is not None:
            params.max_deterministic_time = problem.work_limit * budget_share
        elif work is not None:
            params.max_deterministic_time = work
        status = solver.solve(self.model, callback)
        return solver, status

    def keep(self, solver: cp_model.CpSolver | _Fixed) -> None:
        """The best schedule so far: the next stage starts from it (hints) and the answer falls back on it."""
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for v in self.hint_vars:
            self.model.add_hint(v, solver.value(v))
        self.best = solver

    def place(self) -> None:
        """(1) Place as much as possible, pinned meetings first, starting from the greedy schedule. When the
        greedy schedule already places everything (in order), that level is proved and skipped. Whatever
        CP-SAT answers (nothing in time, or a worse schedule than its hint), the greedy one stands."""
        mark = time.monotonic()
        self.best1 = self.greedy_level1
        if self.complete:
            self.stages["placement"] = "optimal"
            self.placement_proved = True
        elif self.search_end.expired():
            self.stages["placement"] = "unknown"
        else:
            self.model.maximize(self.level1)
            stage_end = time.monotonic() + self.search_end.remaining() * PLACEMENT_SHARE
            cap = max(PLACEMENT_ROUND_SECONDS, self.search_end.remaining() * PLACEMENT_FIRST_ROUND)
            status_best, round_no = cp_model.UNKNOWN, 0
            while time.monotonic() < stage_end - 0.01:
                if self.problem.work_limit is not None:  # a deterministic budget: one round
                    solver, status = self.run(PLACEMENT_SHARE, self.first)
                else:
                    solver, status = self.run(1.0, self.first, seed_offset=round_no,
                                              cap=min(cap, stage_end - time.monotonic()))
                round_no += 1
                cap *= STAGE2_GROWTH
                improved = False
                # A schedule placing as many as the incumbent does not replace it (the greedy one avoids overlaps).
                improved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and round(solver.objective_value) > self.best1
                if improved:
                    self.best1 = round(solver.objective_value)
                    self.keep(solver)
                    status_best = status
                if status == cp_model.OPTIMAL:  # proved (the greedy schedule may reach the optimum too)
                    self.placement_proved = True
                    status_best = status
                # A round that found nothing more ends the stage: the time goes to the levels below.
                if status == cp_model.OPTIMAL or not improved or self.problem.work_limit is not None:
                    break
            self.stages["placement"] = ("optimal" if self.placement_proved
                                        else "feasible" if self.best1 > 0 or status_best != cp_model.UNKNOWN
                                        else "unknown")
        self.timings["placement"] = round(time.monotonic() - mark, 4)
        self.model.add(self.level1 >= self.best1)

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
        stage_end = mark + self.search_end.remaining() * 0.85
        # The schedule to beat: a round's answer replaces it only with fewer overlap minutes.
        incumbent = self.overlap_units(_chosen(self.builder, self.best)) if self.best is not None else None
        best2, round_no, status2 = None, 0, cp_model.UNKNOWN
        cap = STAGE2_ROUND_WORK if ROUNDS_IN_WORK else STAGE2_ROUND_SECONDS
        while time.monotonic() < stage_end - 0.01:
            if problem.work_limit is not None:  # a deterministic budget: one round, no wall-clock cuts
                solver2, status = self.run(0.85)
            else:
                # A round is measured in CP-SAT's deterministic work, not wall-clock: on a busy machine a
                # second of wall-clock is a fraction of a second of search, and a round that short ends
                # before it gets past its hint.
                left = stage_end - time.monotonic()
                if ROUNDS_IN_WORK:
                    solver2, status = self.run(1.0, seed_offset=round_no, cap=left, work=cap)
                else:
                    solver2, status = self.run(1.0, seed_offset=round_no, cap=min(cap, left))
            round_no += 1
            cap *= STAGE2_GROWTH
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
            value = round(solver2.objective_value)
            self.overlap_bound = max(self.overlap_bound or 0, round(solver2.best_objective_bound))
            if (best2 is None or value < best2) and (incumbent is None or value <= incumbent):
                best2, status2 = value, status
                self.keep(solver2)
            elif best2 is None and status == cp_model.OPTIMAL and incumbent is not None:
                best2, status2 = incumbent, status  # proved: the incumbent is as good as it gets
            if status == cp_model.OPTIMAL:
                status2 = status  # proved: nothing is below best2
                break
            if problem.work_limit is not None:
                break
        self.stages["optional_overlap"] = STATUS_NAMES[status2] if best2 is not None else (
            "feasible" if incumbent is not None else "unknown")
        self.timings["optional_overlap"] = round(time.monotonic() - mark, 4)
        if best2 is None:
            best2 = incumbent
        if best2 is not None:
            model.add(self.level2 <= best2)

    def overlap_units(self, chosen: dict[int, tuple[int, int | None]]) -> int:
        """The optional-overlap level of a schedule (grid steps, as the model counts it)."""
        builder = self.builder
        grid = builder.grid
        placed = [Assignment(builder.vars[i].spec.key, grid.at(s),
                             grid.at(s) + timedelta(minutes=builder.vars[i].spec.duration_minutes), None)
                  for i, (s, _c) in chosen.items()]
        return optional_overlap_minutes(self.problem, placed) // grid.g

    def preferences(self) -> None:
        """(3) Earlier, fewer delegation rooms, lunch, walking gaps (at most ``preference_seconds``)."""
        mark = time.monotonic()
        if self.search_end.expired():
            self.stages["preferences"] = "unknown"
        else:
            self.model.minimize(self.level3)
            solver3, status3 = self.run(1.0, cap=self.problem.preference_seconds)
            self.stages["preferences"] = STATUS_NAMES[status3]
            # Meetings move only for a gain: on a tie the schedule of the stage above stands.
            before = (self.best.value(self.level3) if isinstance(self.best, cp_model.CpSolver)
                      and not isinstance(self.level3, int) else None)
            if status3 in (cp_model.OPTIMAL, cp_model.FEASIBLE) and (
                    before is None or round(solver3.objective_value) < before):
                self.best = solver3
        self.timings["preferences"] = round(time.monotonic() - mark, 4)

    # --- the answer ---------------------------------------------------------------------------

    def answer_greedy(self) -> Solution:
        self.best1 = self.greedy_level1
        return self.result(greedy_only=True)

    def result(self, *, greedy_only: bool = False) -> Solution:
        builder = self.builder
        all_placed = self.best1 == self.level1_max and not any(mv.dead for mv in builder.vars)
        optimal = all(s == "optimal" for s in self.stages.values()) and not greedy_only
        overall = "infeasible" if self.placement_proved else "unknown"
        if all_placed:
            overall = "optimal" if optimal else "feasible"
        mark = time.monotonic()
        if greedy_only:
            chosen = {mv.index: (start, c) for mv, (start, c) in self.greedy.items()}
            solution = _extract(builder, chosen, None, self.problem, self.started, overall, self.stages)
        else:
            assert self.best is not None  # kept from the greedy schedule on
            solution = _extract(builder, _chosen(builder, self.best), self.best, self.problem, self.started,
                                overall, self.stages)
        self.timings["answer"] = round(time.monotonic() - mark, 4)
        bound = self.overlap_bound * builder.grid.g if self.overlap_bound is not None else 0
        return Solution(
            status=solution.status,
            assignments=solution.assignments,
            unplaced=solution.unplaced,
            objective={**solution.objective, "optional_overlap_bound_minutes": bound, "stage_seconds": self.timings,
                       "greedy_placed": len(self.greedy)},
            solve_seconds=round(self.deadline.elapsed(), 4),
            first_complete_seconds=self.first.at if all_placed else None,
        )


def _chosen(builder: ModelBuilder, solver: cp_model.CpSolver | _Fixed) -> dict[int, tuple[int, int | None]]:
    """Meeting index -> (start step, room class or None) of a solved schedule."""
    out: dict[int, tuple[int, int | None]] = {}
    for mv in builder.vars:
        if mv.dead or not solver.value(mv.placed):
            continue
        room_class = next((c for c, lit in mv.in_class.items() if solver.value(lit)), None)
        out[mv.index] = (solver.value(mv.start), room_class)
    return out


def _extract(builder: ModelBuilder, chosen: dict[int, tuple[int, int | None]],
             solver: cp_model.CpSolver | _Fixed | None, problem: Problem, started: float, status: str,
             stages: dict[str, str]) -> Solution:
    grid = builder.grid
    rooms = builder.concrete_rooms({i: (s, c) for i, (s, c) in chosen.items() if c is not None})
    assignments = []
    for index, (s, _c) in chosen.items():
        mv = builder.vars[index]
        assignments.append(Assignment(mv.spec.key, grid.at(s), grid.at(s) + timedelta(minutes=mv.spec.duration_minutes),
                                      rooms.get(index)))
    unplaced = explain_all(builder, [mv for mv in builder.vars if mv.index not in chosen], assignments)
    # Only a solver's answer carries these; a greedy schedule nobody improved does not.
    real = solver if isinstance(solver, cp_model.CpSolver) and builder.built else None
    objective = {
        "placed": len(assignments),
        "unplaced": len(unplaced),
        "optional_overlap_minutes": optional_overlap_minutes(problem, assignments),
        "lunch_breaks_missed": sum(real.value(v) for v in builder.lunch_missed) if real else None,
        "building_gaps_missed": sum(real.value(v) for v in builder.gap_violations) if real else None,
        "delegation_rooms": sum(real.value(v) for v in builder.delegation_rooms) if real else None,
        "preferences": round(sum(w * real.value(v) for w, v in builder.secondary_terms)) if real else None,
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
