"""The solver's floor and clock: never fewer meetings than the greedy schedule, whatever the time limit
or CP-SAT's answer; the deadline covers building the model; pruning rooms and indexing explanations
change nothing an answer says. No timings are asserted: the deadline is forced, not measured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from availability import intervals as iv
from scheduling import search
from scheduling.deadline import Deadline
from scheduling.greedy import greedy
from scheduling.instances import classic_instance
from scheduling.model import ModelBuilder
from scheduling.problem import MeetingSpec, Problem, RoomSpec
from scheduling.unplaced import Explainer
from tests.scheduling.test_solver import at, check, instances, room


def classic(seed: int, meetings: int = 24, limit: float = 1.0, **kw) -> Problem:
    people = max(20, round(meetings * 20 / 24))
    inst = classic_instance(seed, meetings=meetings, people=people, rooms=max(3, round(meetings / 8)))
    return Problem(
        days=tuple(inst.day_bounds()), rooms=tuple(room(i + 1, c) for i, c in inst.rooms),
        meetings=tuple(MeetingSpec(m["key"], m["title"], m["duration_minutes"], tuple(p + 1 for p in m["required"]),
                                   tuple(p + 1 for p in m["optional"])) for m in inst.meetings),
        timezone=inst.timezone, time_limit_seconds=limit, **kw,
    )


def greedy_count(problem: Problem) -> int:
    builder = ModelBuilder(problem)
    builder.prepare()
    return len(greedy(builder))


class Countdown(Deadline):
    """A deadline that passes after ``checks`` looks at it: forces every "out of time" branch in turn
    without depending on how fast the machine is."""

    def __init__(self, checks: int) -> None:
        super().__init__(3600)
        self.left = checks

    def expired(self) -> bool:
        self.left -= 1
        return self.left < 0

    def remaining(self) -> float:
        return 0.0 if self.left < 0 else 0.05


# --- never fewer than the greedy schedule ---------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from([0.0, 0.001, 0.01, 0.05]))
def test_tiny_limits_never_place_fewer_than_the_greedy_schedule(problem, limit):
    solution = search.solve(Problem(**{**problem.__dict__, "time_limit_seconds": limit}))
    assert check(problem, solution) == []
    assert len(solution.assignments) >= greedy_count(problem)


def test_cp_sat_finding_nothing_keeps_the_greedy_schedule(monkeypatch):
    """Every CP-SAT stage answers UNKNOWN (what a too-short limit does on a big problem): the greedy
    schedule stands, with every hard rule kept and the rest explained."""
    def unknown(self, *args, **kwargs):
        return cp_model.CpSolver(), cp_model.UNKNOWN

    monkeypatch.setattr(search._Search, "run", unknown)
    problem = classic(1, meetings=48, limit=30)
    solution = search.solve(problem)
    assert check(problem, solution) == []
    assert solution.objective["placed"] == greedy_count(problem) == solution.objective["greedy_placed"]
    assert solution.objective["placed"] > 0
    assert solution.status == "unknown"  # not every meeting placed, and nothing proved
    assert all(u.reason for u in solution.unplaced)


def test_a_worse_cp_sat_answer_does_not_replace_the_greedy_schedule(monkeypatch):
    """A CP-SAT answer placing fewer than its hint (possible when it does not use the hint) is dropped."""
    real_run = search._Search.run

    def worse(self, *args, **kwargs):
        if self.stages.get("placement") is None and "optional_overlap" not in self.stages:
            # The first stage, on a copy of the model where nothing may be placed: a valid, worse answer.
            saved = self.model
            self.model = saved.clone()
            for mv in self.builder.vars:
                self.model.add(self.model.get_bool_var_from_proto_index(mv.placed.index) == 0)
            try:
                return real_run(self, *args, **kwargs)
            finally:
                self.model = saved
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(search._Search, "run", worse)
    problem = classic(1, meetings=30, limit=3, work_limit=0.5)
    solution = search.solve(problem)
    assert check(problem, solution) == []
    assert solution.objective["placed"] >= greedy_count(problem) > 0


# --- the deadline covers the model ----------------------------------------------------------------


def test_a_passed_deadline_still_answers_with_a_valid_schedule(monkeypatch):
    """The deadline has passed before solving starts (the request spent its limit elsewhere): no CP-SAT
    run, no model beyond what the greedy schedule needs, and a valid answer with its placements."""
    def no_cp_sat(self, *args, **kwargs):
        raise AssertionError("CP-SAT ran after the deadline")

    monkeypatch.setattr(search._Search, "run", no_cp_sat)
    problem = classic(2, meetings=120, limit=1)
    solution = search.solve(problem, deadline=Deadline(0))
    assert check(problem, solution) == []
    assert solution.objective["placed"] == greedy_count(problem) > 0
    assert "model" in solution.objective["stage_seconds"]
    assert len(solution.assignments) + len(solution.unplaced) == len(problem.meetings)


@pytest.mark.parametrize("checks", [0, 1, 2, 5, 9, 20, 40, 200])
def test_the_deadline_can_pass_at_any_step_of_building_and_solving(checks):
    """Wherever the deadline passes (inside the model's meetings, its rules, the overlap terms, between
    stages) the answer is valid and places at least the greedy schedule's meetings."""
    problem = classic(3, meetings=40, limit=1, work_limit=0.2)
    solution = search.solve(problem, deadline=Countdown(checks))
    assert check(problem, solution) == []
    assert solution.objective["placed"] >= greedy_count(problem)


# --- pruning rooms changes no answer --------------------------------------------------------------


@st.composite
def twin_rooms(draw):
    """Random small instances whose rooms come in interchangeable twins (same size, building, busy
    times), next to rooms of their own: what the room classes collapse."""
    problem = draw(instances(max_meetings=5))
    rooms = []
    busy_rooms = {}
    for n, r in enumerate(problem.rooms):
        twin = RoomSpec(id=100 + n, capacity=r.capacity, name=f"Twin {n}", building=r.building)
        rooms += [r, twin]
        busy_rooms[r.id] = busy_rooms[twin.id] = list(problem.busy_rooms.get(r.id, []))
    return Problem(**{**problem.__dict__, "rooms": tuple(rooms), "busy_rooms": busy_rooms, "delegation": (),
                      "time_limit_seconds": 20, "work_limit": None})


def comparable(solution) -> dict:
    o = solution.objective
    return {"placed": o["placed"], "optional_overlap_minutes": o["optional_overlap_minutes"],
            "preferences": o["preferences"]}


def solve_per_room(problem: Problem):
    search.COLLAPSE_ROOMS = False
    try:
        return search.solve(problem)
    finally:
        search.COLLAPSE_ROOMS = True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(twin_rooms())
def test_collapsing_interchangeable_rooms_gives_the_same_optimum(problem):
    per_room = solve_per_room(problem)
    collapsed = search.solve(problem)
    assert check(problem, collapsed) == []
    if per_room.status == collapsed.status == "optimal" or (
            per_room.status == collapsed.status == "infeasible"
            and per_room.objective["stages"] == collapsed.objective["stages"]
            and all(v == "optimal" for v in per_room.objective["stages"].values())):
        assert comparable(per_room) == comparable(collapsed)
    if per_room.objective["stages"].get("placement") == collapsed.objective["stages"].get("placement") == "optimal":
        assert per_room.objective["placed"] == collapsed.objective["placed"]


def test_identical_rooms_become_one_class_and_concurrent_meetings_get_different_rooms():
    rooms = tuple(RoomSpec(id=n, capacity=10, name=f"Room {n}") for n in range(1, 6))
    meetings = tuple(MeetingSpec(f"m{n}", f"Meeting {n}", 60, required=(n,)) for n in range(1, 6))
    problem = Problem(days=((at(0, 9), at(0, 10)),), rooms=rooms, meetings=meetings, timezone="Europe/Berlin")
    builder = ModelBuilder(problem)
    builder.prepare()
    assert len(builder.classes) == 1 and builder.classes[0].size == 5
    solution = search.solve(problem)
    assert check(problem, solution) == []
    assert len(solution.assignments) == 5  # all at 9:00, in five different rooms
    assert sorted(a.room for a in solution.assignments) == [1, 2, 3, 4, 5]


def test_rooms_that_differ_stay_apart():
    """A closure, another building, a candidate list or a delegation's meeting tells rooms apart."""
    rooms = (RoomSpec(1, 10), RoomSpec(2, 10), RoomSpec(3, 10, building="B"), RoomSpec(4, 10), RoomSpec(5, 10),
             RoomSpec(6, 10))
    meetings = (MeetingSpec("a", "A", 60, required=(1,)), MeetingSpec("b", "B", 60, required=(2,), rooms=(1, 2, 3, 4, 6)),
                MeetingSpec("c", "C", 60, required=(9,), rooms=(6,)))
    problem = Problem(days=((at(0, 9), at(0, 12)),), rooms=rooms, meetings=meetings, timezone="Europe/Berlin",
                      busy_rooms={4: [(at(0, 9), at(0, 10))]}, delegation=(9,))
    builder = ModelBuilder(problem)
    builder.prepare()
    classes = sorted(c.rooms for c in builder.classes)
    # 1 and 2: same meetings, building, busy time; 3 another building; 4 closed at 9; 5 not offered to b;
    # 6 offered to the delegation's meeting c.
    assert classes == [(1, 2), (3,), (4,), (5,), (6,)]


def test_rooms_too_small_or_never_free_are_no_candidates():
    rooms = (RoomSpec(1, 4), RoomSpec(2, 10), RoomSpec(3, 10))
    problem = Problem(days=((at(0, 9), at(0, 10)),), rooms=rooms, timezone="Europe/Berlin",
                      busy_rooms={3: [(at(0, 8), at(0, 11))]},
                      meetings=(MeetingSpec("a", "A", 60, required=(1,), min_capacity=6),))
    builder = ModelBuilder(problem)
    builder.prepare()
    (mv,) = builder.vars
    assert mv.rooms == [2, 3]  # big enough
    assert [builder.classes[c].rooms for c in mv.class_domains] == [(2,)]  # and free


# --- explanations ---------------------------------------------------------------------------------


def naive_competitors(builder, mv, placed, free_alone):
    """The scan the explanations used to make: every placed meeting, in order, looked up by key."""
    grid, out = builder.grid, []
    candidate_classes = set(mv.class_domains)
    for a in placed:
        other = next(x for x in builder.vars if x.spec.key == a.key)
        s, e = grid.floor(a.starts_at), grid.ceil(a.ends_at)
        if not any(max(x, s) < min(y, e) for x, y in free_alone):
            continue
        shared = set(mv.spec.required) & set(other.spec.required)
        if shared or (a.room is not None and builder.class_of.get(a.room) in candidate_classes):
            out.append((a, tuple(sorted(shared))))
    return out[:Explainer.SHOWN]


@pytest.mark.parametrize("seed", [1, 4, 6, 10])
def test_indexed_explanations_name_the_same_competitors_as_a_full_scan(seed):
    problem = classic(seed, meetings=60, limit=2, work_limit=0.3)
    solution = search.solve(problem)
    assert solution.unplaced
    builder = ModelBuilder(problem)
    builder.prepare()
    placed = [solution.assignment(mv.spec.key) for mv in builder.vars if solution.assignment(mv.spec.key)]
    explainer = Explainer(builder, placed)
    for u in solution.unplaced:
        mv = explainer.by_key[u.key]
        free_alone = iv.normalize((a, b - 1 + mv.duration) for a, b in mv.domain)
        assert explainer.competitors(mv, free_alone) == naive_competitors(builder, mv, placed, free_alone)
        assert u.reason == explainer.for_meeting(mv).reason


def test_the_classic_class_at_scale_answers_in_its_limit_with_reasons():
    """120 meetings, a 0.5-s limit: every meeting placed or explained (timing is the bench's business)."""
    problem = classic(2, meetings=120, limit=0.5)
    solution = search.solve(problem)
    assert check(problem, solution) == []
    assert solution.objective["placed"] >= solution.objective["greedy_placed"]
    assert {u.key for u in solution.unplaced} | {a.key for a in solution.assignments} == {
        m.key for m in problem.meetings}
    assert timedelta(0) not in {a.ends_at - a.starts_at for a in solution.assignments}
