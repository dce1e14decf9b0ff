"""The solver against an independent checker: random small instances, pins, determinism, honest reasons.

The checker below shares no code with the solver (``scheduling.model``, ``scheduling.search``): it re-derives every hard rule from the
problem's plain data with datetimes, so a modelling slip in the solver (an off-by-one on the grid, a
room interval not in a NoOverlap, a busy time dropped) shows up as a violated rule here.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.instances import classic_instance
from scheduling.problem import LunchRule, MeetingSpec, Pin, Problem, RoomSpec
from scheduling.search import solve

BERLIN = ZoneInfo("Europe/Berlin")
MON = datetime(2027, 3, 1, tzinfo=BERLIN)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return (MON + timedelta(days=day)).replace(hour=hh, minute=mm)


def overlaps(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def check(problem: Problem, solution) -> list[str]:
    """Every hard rule, from scratch. Returns the violations (empty: the schedule is valid)."""
    errors = []
    specs = {m.key: m for m in problem.meetings}
    rooms = {r.id: r for r in problem.rooms}
    placed = {a.key: a for a in solution.assignments}
    unplaced = {u.key: u.reason for u in solution.unplaced}
    if set(placed) & set(unplaced) or set(placed) | set(unplaced) != set(specs):
        errors.append("every meeting must be either placed or explained, exactly once")
    for key, reason in unplaced.items():
        if not reason.strip():
            errors.append(f"{key}: unplaced without a reason")
    g = timedelta(minutes=problem.granularity_minutes)
    origin = min(d[0] for d in problem.days)
    for key, a in placed.items():
        m = specs[key]
        span = (a.starts_at, a.ends_at)
        if a.ends_at - a.starts_at != timedelta(minutes=m.duration_minutes):
            errors.append(f"{key}: wrong length")
        if (a.starts_at - origin) % g:
            errors.append(f"{key}: starts off the grid")
        if m.pinned:
            moved_room = m.needs_room and m.pinned.room is not None and a.room != m.pinned.room
            if a.starts_at != m.pinned.starts_at or moved_room:
                errors.append(f"{key}: pinned but moved")
        else:
            if not any(d[0] <= a.starts_at and a.ends_at <= d[1] for d in problem.days):
                errors.append(f"{key}: outside the day bounds")
            if m.windows and not any(w[0] <= a.starts_at and a.ends_at <= w[1] for w in m.windows):
                errors.append(f"{key}: outside its windows")
        if m.needs_room:
            if a.room is None:
                errors.append(f"{key}: no room")
            else:
                if m.rooms is not None and a.room not in m.rooms and not (m.pinned and m.pinned.room == a.room):
                    errors.append(f"{key}: not a candidate room")
                seats = m.min_capacity if m.min_capacity is not None else len(set(m.required) | set(m.optional))
                if rooms[a.room].capacity < seats:
                    errors.append(f"{key}: room too small")
                if any(overlaps(span, b) for b in problem.busy_rooms.get(a.room, [])):
                    errors.append(f"{key}: room busy")
        for person in m.required:
            if any(overlaps(span, b) for b in problem.busy_people.get(person, [])):
                errors.append(f"{key}: person {person} busy")
    for (k1, a1), (k2, a2) in itertools.combinations(placed.items(), 2):
        if not overlaps((a1.starts_at, a1.ends_at), (a2.starts_at, a2.ends_at)):
            continue
        if a1.room is not None and a1.room == a2.room:
            errors.append(f"{k1}/{k2}: same room at once")
        shared = set(specs[k1].required) & set(specs[k2].required)
        if shared:
            errors.append(f"{k1}/{k2}: required {sorted(shared)} twice at once")
    for before, after in problem.precedence:
        if before in placed and after in placed and placed[after].starts_at < placed[before].ends_at:
            errors.append(f"{before} → {after}: order broken")
    return errors


# --- random instances ---------------------------------------------------------------------------


@st.composite
def instances(draw, max_meetings: int = 6):
    g = draw(st.sampled_from([15, 30]))
    n_days = draw(st.integers(1, 2))
    days = tuple((at(d, 8), at(d, 12)) for d in range(n_days))
    n_rooms = draw(st.integers(1, 3))
    rooms = tuple(RoomSpec(id=r + 1, capacity=draw(st.integers(1, 6)), name=f"Room {r + 1}",
                           building=draw(st.sampled_from(["A", "B"]))) for r in range(n_rooms))
    people = list(range(1, draw(st.integers(1, 6)) + 1))

    def span():
        day = draw(st.integers(0, n_days - 1))
        start = draw(st.integers(8 * 4, 11 * 4))  # quarter hours, may be off the 30-min grid
        length = draw(st.integers(1, 8))
        return (at(day, 0) + timedelta(minutes=15 * start), at(day, 0) + timedelta(minutes=15 * (start + length)))

    busy_people = {p: [span() for _ in range(draw(st.integers(0, 2)))] for p in people}
    busy_rooms = {r.id: [span() for _ in range(draw(st.integers(0, 1)))] for r in rooms}
    meetings = []
    for n in range(draw(st.integers(1, max_meetings))):
        required = tuple(draw(st.lists(st.sampled_from(people), max_size=3, unique=True)))
        optional = tuple(p for p in draw(st.lists(st.sampled_from(people), max_size=2, unique=True))
                         if p not in required)
        pinned = None
        if draw(st.integers(0, 5)) == 0:
            day = draw(st.integers(0, n_days - 1))
            pinned = Pin(starts_at=at(day, 8) + timedelta(minutes=g * draw(st.integers(0, 4))),
                         room=draw(st.sampled_from([None, *[r.id for r in rooms]])))
        windows = ()
        if draw(st.integers(0, 4)) == 0:
            windows = ((at(0, 9), at(0, 11)),)
        meetings.append(MeetingSpec(
            key=f"m{n}", title=f"Meeting {n}", duration_minutes=draw(st.sampled_from([30, 60, 90])),
            required=required, optional=optional,
            min_capacity=draw(st.sampled_from([None, None, 2])),
            rooms=draw(st.sampled_from([None, tuple(r.id for r in rooms[:1])])),
            needs_room=draw(st.sampled_from([True, True, True, False])),
            windows=windows, pinned=pinned,
        ))
    precedence = ()
    if len(meetings) > 1 and draw(st.booleans()):
        precedence = ((meetings[0].key, meetings[1].key),)
    return Problem(
        days=days, rooms=rooms, meetings=tuple(meetings), granularity_minutes=g, timezone="Europe/Berlin",
        busy_people=busy_people, busy_rooms=busy_rooms, precedence=precedence,
        lunch=draw(st.sampled_from([None, LunchRule(start="11:00", end="12:00", minutes=30)])),
        building_gap_minutes=draw(st.sampled_from([0, 15])), delegation=tuple(people[:1]),
        time_limit_seconds=5, num_workers=1,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_hard_constraints_hold_on_random_instances(problem):
    solution = solve(problem)
    assert check(problem, solution) == [], (problem.meetings, problem.busy_people, problem.busy_rooms, solution)
    assert solution.status in {"optimal", "feasible", "infeasible", "unknown"}
    assert solution.objective["placed"] == len(solution.assignments)


def _max_placeable(problem: Problem) -> int:
    """Brute force over every start and room for each meeting (tiny instances only)."""
    from scheduling.problem import Assignment, Solution

    options = []
    g = timedelta(minutes=problem.granularity_minutes)
    for m in problem.meetings:
        choices = [None]
        for day_start, day_end in problem.days:
            t = day_start
            while t + timedelta(minutes=m.duration_minutes) <= day_end:
                for room in ([r.id for r in problem.rooms] if m.needs_room else [None]):
                    choices.append(Assignment(m.key, t, t + timedelta(minutes=m.duration_minutes), room))
                t += g
        options.append(choices)
    best = 0
    for combo in itertools.product(*options):
        chosen = [c for c in combo if c is not None]
        if len(chosen) <= best:
            continue
        keys = {c.key for c in chosen}
        fake = Solution("feasible", tuple(chosen),
                        tuple(type("U", (), {"key": m.key, "reason": "x"})() for m in problem.meetings
                              if m.key not in keys), {}, 0)
        if not check(problem, fake):
            best = len(chosen)
    return best


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_as_many_meetings_as_possible_are_placed(data):
    """On tiny instances the first objective level is checked against exhaustive search."""
    problem = data.draw(instances(max_meetings=3))
    problem = Problem(**{**problem.__dict__, "days": problem.days[:1], "granularity_minutes": 30,
                         "meetings": tuple(plain(m) for m in problem.meetings)})
    solution = solve(problem)
    assert check(problem, solution) == []
    if solution.status in ("optimal", "infeasible"):  # placement proved
        assert len(solution.assignments) == _max_placeable(problem)


def plain(m: MeetingSpec) -> MeetingSpec:
    """Tiny instances: no pins or windows (the brute force ignores them)."""
    return MeetingSpec(key=m.key, title=m.title, duration_minutes=m.duration_minutes, required=m.required,
                       optional=m.optional, min_capacity=m.min_capacity, rooms=None, needs_room=m.needs_room)


# --- specific behaviour ------------------------------------------------------------------------


def room(id_: int, capacity: int = 12, name: str = "", building: str = "") -> RoomSpec:
    return RoomSpec(id=id_, capacity=capacity, name=name or f"Room {id_}", building=building)


def test_pinned_meetings_stay_where_they_were_pinned():
    pin = Pin(starts_at=at(0, 14), room=2)
    problem = Problem(
        days=((at(0, 9), at(0, 17)),), rooms=(room(1), room(2)), timezone="Europe/Berlin",
        meetings=(
            MeetingSpec("a", "Pinned talk", 60, required=(1,), pinned=pin),
            MeetingSpec("b", "Free talk", 60, required=(1,)),
        ),
    )
    solution = solve(problem)
    a = solution.assignment("a")
    assert (a.starts_at, a.room) == (at(0, 14), 2)
    assert solution.assignment("b").starts_at == at(0, 9)  # earliest, and not clashing with the pin
    assert check(problem, solution) == []


def test_a_pin_that_breaks_a_hard_rule_is_reported_not_forced():
    problem = Problem(
        days=((at(0, 9), at(0, 17)),), rooms=(room(1),), timezone="Europe/Berlin",
        people_names={1: "Dr. Ada Lind"},
        busy_people={1: [(at(0, 13), at(0, 15))]},
        meetings=(MeetingSpec("a", "Pinned talk", 60, required=(1,), pinned=Pin(at(0, 14), 1)),),
    )
    solution = solve(problem)
    assert solution.assignments == ()
    assert "pinned to Mon 1 Mar 14:00–15:00, but Dr. Ada Lind is busy then" in solution.unplaced[0].reason
    assert solution.status == "infeasible"


def test_availability_and_existing_meetings_are_honoured():
    busy = {1: [(at(0, 9), at(0, 12))]}  # e.g. an existing meeting
    problem = Problem(
        days=((at(0, 9), at(0, 17)),), rooms=(room(1), room(2)), timezone="Europe/Berlin",
        busy_people=busy, busy_rooms={1: [(at(0, 12), at(0, 17))], 2: [(at(0, 12), at(0, 14))]},
        meetings=(MeetingSpec("a", "Talk", 60, required=(1, 2)),),
    )
    solution = solve(problem)
    a = solution.assignment("a")
    assert (a.starts_at, a.room) == (at(0, 14), 2)


def test_required_attendees_never_double_booked_optional_ones_minimised():
    problem = Problem(
        days=((at(0, 9), at(0, 11)),), rooms=(room(1), room(2)), timezone="Europe/Berlin",
        meetings=(
            MeetingSpec("a", "A", 60, required=(1,), optional=(3,)),
            MeetingSpec("b", "B", 60, required=(2,), optional=(3,)),
            MeetingSpec("c", "C", 60, required=(1,)),
        ),
    )
    solution = solve(problem)
    assert check(problem, solution) == []
    assert len(solution.assignments) == 3
    # a and c share person 1 (hard); b can go beside either; person 3 is optional in a and b
    assert solution.objective["optional_overlap_minutes"] == 0
    assert solution.status == "optimal"


def test_same_input_and_seed_give_the_same_schedule():
    inst = classic_instance(2)
    problem = Problem(
        days=tuple(inst.day_bounds()), rooms=tuple(room(i + 1, c) for i, c in inst.rooms),
        meetings=tuple(MeetingSpec(m["key"], m["title"], m["duration_minutes"], tuple(p + 1 for p in m["required"]),
                                   tuple(p + 1 for p in m["optional"])) for m in inst.meetings),
        timezone=inst.timezone, time_limit_seconds=120, work_limit=0.3, seed=7,
    )
    first, second = solve(problem), solve(problem)
    assert first.assignments == second.assignments
    timing = "stage_seconds"  # wall-clock, the one thing allowed to differ
    assert {k: v for k, v in first.objective.items() if k != timing} == {
        k: v for k, v in second.objective.items() if k != timing}
    assert check(problem, first) == []


def test_the_time_limit_is_respected():
    """The classic instance with seed 1 is not solved to optimality in minutes; the limit stops it."""
    inst = classic_instance(1)
    problem = Problem(
        days=tuple(inst.day_bounds()), rooms=tuple(room(i + 1, c) for i, c in inst.rooms),
        meetings=tuple(MeetingSpec(m["key"], m["title"], m["duration_minutes"], tuple(p + 1 for p in m["required"]),
                                   tuple(p + 1 for p in m["optional"])) for m in inst.meetings),
        timezone=inst.timezone, time_limit_seconds=1.0,
    )
    solution = solve(problem)
    assert solution.status in ("feasible", "unknown")  # stopped by the limit, not by a proof (that takes minutes)
    assert check(problem, solution) == []
    assert solution.objective["placed"] >= solution.objective["greedy_placed"]


# --- honest reasons ------------------------------------------------------------------------------


def test_no_room_big_enough_is_said_so():
    problem = Problem(
        days=((at(0, 9), at(0, 17)),), rooms=(room(1, 8, "Seminar room"), room(2, 10, "Board room")),
        timezone="Europe/Berlin",
        meetings=(MeetingSpec("a", "Delegation briefing", 60, required=(1,), min_capacity=12),),
    )
    solution = solve(problem)
    assert solution.unplaced[0].reason == "no room for 12 people: the largest is Board room with 10 seats"
    assert solution.status == "infeasible"


def test_no_fitting_room_free_while_the_people_are_names_the_time():
    problem = Problem(
        days=((at(1, 9), at(1, 17)),), rooms=(room(1, 20, "Seminar room"), room(2, 4, "Office")),
        timezone="Europe/Berlin", people_names={1: "Dr. Ada Lind"},
        busy_people={1: [(at(1, 9), at(1, 13))]},  # free Tuesday afternoon only
        busy_rooms={1: [(at(1, 12), at(1, 17))]},  # the only big room is booked Tuesday afternoon
        meetings=(MeetingSpec("a", "Cell therapeutics", 60, required=(1,), min_capacity=12),),
    )
    reason = solve(problem).unplaced[0].reason
    assert reason == "no room for 12 people is free when Dr. Ada Lind is free (Tue 2 Mar 13:00–17:00)"


def test_an_absent_person_is_named():
    problem = Problem(
        days=((at(0, 9), at(0, 17)), (at(1, 9), at(1, 17))), rooms=(room(1),), timezone="Europe/Berlin",
        people_names={1: "Dr. Ada Lind", 2: "Ben Ott"},
        busy_people={1: [(at(0, 0), at(2, 0))]},
        meetings=(MeetingSpec("a", "Talk", 60, required=(1, 2)),),
    )
    reason = solve(problem).unplaced[0].reason
    assert reason.startswith("Dr. Ada Lind is not free for 1 h on any of the days")


def test_competing_meetings_are_named():
    problem = Problem(
        days=((at(0, 9), at(0, 11)),), rooms=(room(1),), timezone="Europe/Berlin",
        people_names={1: "Dr. Ada Lind"},
        meetings=(MeetingSpec("a", "First", 120, required=(1,)), MeetingSpec("b", "Second", 60, required=(1,))),
    )
    solution = solve(problem)
    assert len(solution.assignments) == 1
    reason = solution.unplaced[0].reason
    assert "is taken by" in reason and "Dr. Ada Lind" in reason
