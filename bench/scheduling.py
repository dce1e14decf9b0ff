"""Benchmark of the scheduler: prints figures, asserts nothing.

    make bench                                   # the short version (about 4 minutes)
    .venv/bin/python -m bench.scheduling [--quick] [--quality]
    BENCH_SCHEDULING_QUALITY=1 make bench         # the long quality runs (35 minutes more)

Creates its own database (``vd_bench_scheduling``, or ``BENCH_SCHEDULING_DB``, on the server of
``DATABASE_URL``, default the local PostgreSQL; dropped at the end) and measures, with production
settings and the machine's load average (``os.getloadavg``, 1 minute) printed next to every figure:

1. the classic meeting-scheduling instance through the API (``scheduling.instances.classic_instance``,
   seed 2: 24 meetings of 2/3/4 h, 20 people with 2–10 required and 1–9 optional attendees, rooms of
   30/20/16 seats, 4 days 08:00–18:00 on a 15-minute grid): the first conflict-free schedule (a
   request with a 0.25 s limit), then requests limited to 1 and 10 s;
2. quality over time: seeds 1–10 of the same class, solved in-process with limits of 1 and 10 s
   (``--quality`` adds 60 and 120 s), placed meetings and optional-overlap minutes for each, checked
   against the goals (10 s strictly better than 1 s unless 1 s is proved optimal; 10 s within 10 % of
   the best of 120 s);
3. growth: 24/50/100/200/400 meetings of the class scaled up (people and rooms in proportion, seed 2)
   through ``batch_solve`` (the busy-time query, the solver, the explanations) with a 1-s limit, each
   size in a fresh process: the whole call's time, placed against the greedy schedule's, peak RSS;
4. a visit proposal: 8 topics, 40 staff, 10 rooms and 5,000 existing meetings around the visit.

``--quick`` skips the quality runs (2).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from bench.pg import admin_sql, server_url, with_db

BENCH_DB = os.environ.get("BENCH_SCHEDULING_DB", "vd_bench_scheduling")
ROOT = Path(__file__).resolve().parent.parent
SEED = 2
LIMITS = (1, 10)
QUALITY_SEEDS = tuple(range(1, 11))
QUALITY_LIMITS = (1, 10)
QUALITY_LONG = (60, 120)
GROWTH = (24, 50, 100, 200, 400)
GROWTH_LIMIT = 1.0


def load() -> float:
    return round(os.getloadavg()[0], 1)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        return _child(flags=argv[1:])
    if argv and argv[0] == "grow":
        return _grow(int(argv[1]))
    quality = "--quality" in argv or os.environ.get("BENCH_SCHEDULING_QUALITY") == "1"
    flags = [*(["--quick"] if "--quick" in argv else []), *(["--quality"] if quality else [])]
    server = server_url("bench.scheduling")
    url = with_db(server, BENCH_DB)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VISITDESK_TESTING": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("REDIS_URL", None)
    print(f"Scheduling benchmark on {urlparse(url).path.strip('/')} (load average {load()} on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        results = _in_child(["child", *flags], env)
        results["growth"] = _growth(env)
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return results


def _in_child(args: list[str], env: dict[str, str]) -> dict:
    """Run ``python -m bench.scheduling *args``, echo what it prints as it prints it, return the JSON of
    its last line."""
    last = ""
    with subprocess.Popen([sys.executable, "-m", "bench.scheduling", *args], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("{"):
                last = line
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
    if child.returncode != 0 or not last:
        raise SystemExit(f"bench.scheduling {args[0]} failed")
    return json.loads(last)


# --- child: everything in one process over the API ----------------------------------------------


def _child(*, flags: list[str]) -> dict:
    import django

    django.setup()
    from ortools import __version__ as ortools_version

    from scheduling.problem import cores

    print(f"OR-Tools {ortools_version}; CP-SAT with {cores()} workers (one per core; interleaved, deterministic), seed 0")
    client = _coordinator_client()
    results = {"classic": _classic(client)}
    if "--quick" not in flags:
        results["quality"] = _quality(long="--quality" in flags)
    results["proposal"] = _proposal(client)
    print(json.dumps(results))
    return results


def _coordinator_client():
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_user("bench", "bench@example.org", secrets.token_hex(8), is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _classic(client) -> dict:
    from directory.models import Person
    from events.models import Room, Venue
    from scheduling.instances import classic_instance

    inst = classic_instance(SEED)
    people = Person.objects.bulk_create(Person(name=f"Person {n + 1}", email=f"classic{n}@bench.example.org")
                                        for n in inst.people)
    venue = Venue.objects.create(name="Classic campus", timezone=inst.timezone)
    rooms = [Room.objects.create(venue=venue, name=f"Room {cap}", capacity=cap) for _, cap in inst.rooms]
    body = {
        "timezone": inst.timezone, "days": [d.isoformat() for d in inst.days], "day_start": "08:00",
        "day_end": "18:00", "granularity_minutes": 15, "rooms": [r.pk for r in rooms], "respect_existing": True,
        "lunch": None, "building_gap_minutes": 0,
        "meetings": [{"key": m["key"], "title": m["title"], "duration_minutes": m["duration_minutes"],
                      "required": [people[p].pk for p in m["required"]],
                      "optional": [people[p].pk for p in m["optional"]]} for m in inst.meetings],
    }

    def post(limit: float) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.post("/api/v1/scheduling/solve/", {**body, "time_limit_seconds": limit}, format="json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content
        return elapsed, response.json()

    post(0.1)  # warm-up: URLconf, serializers, OR-Tools import
    out: dict = {"runs": []}
    elapsed, first = post(0.25)
    out["first"] = {"request_s": round(elapsed, 3), "solver_first_complete_s": first["first_complete_seconds"],
                    "placed": first["objective"]["placed"], "status": first["status"],
                    "optional_overlap_minutes": first["objective"]["optional_overlap_minutes"], "load": load()}
    print(f"classic instance (seed {SEED}) through the API: first conflict-free schedule: request with a 0.25 s "
          f"limit answered in {elapsed:.3f} s, {first['objective']['placed']}/24 placed, optional overlap "
          f"{first['objective']['optional_overlap_minutes']} min (complete after {first['first_complete_seconds']} s; "
          f"load {load()})")
    for limit in LIMITS:
        elapsed, res = post(limit)
        o = res["objective"]
        run = {"limit_s": limit, "request_s": round(elapsed, 2), "status": res["status"], "placed": o["placed"],
               "optional_overlap_minutes": o["optional_overlap_minutes"], "stages": o["stages"], "load": load()}
        out["runs"].append(run)
        print(f"  limit {limit:>5} s: request {elapsed:7.2f} s, {o['placed']}/24 placed, optional overlap "
              f"{o['optional_overlap_minutes']:>6} min, status {res['status']} (load {load()})")
    return out


# --- quality over time: seeds of the classic class ------------------------------------------------


def classic_problem(seed: int, limit: float, **scale):
    """The classic class as a solver ``Problem`` (``scale``: ``meetings``, ``people``, ``rooms``)."""
    from scheduling.instances import classic_instance
    from scheduling.problem import MeetingSpec, Problem, RoomSpec

    inst = classic_instance(seed, **scale)
    return Problem(
        days=tuple(inst.day_bounds()), rooms=tuple(RoomSpec(i + 1, c, f"Room {i + 1}") for i, c in inst.rooms),
        meetings=tuple(MeetingSpec(m["key"], m["title"], m["duration_minutes"], tuple(p + 1 for p in m["required"]),
                                   tuple(p + 1 for p in m["optional"])) for m in inst.meetings),
        timezone=inst.timezone, time_limit_seconds=limit,
    )


def _better(a: dict, b: dict) -> bool:
    """Whether result ``a`` beats ``b`` (more placed, then fewer optional-overlap minutes)."""
    return (a["placed"], -a["overlap"]) > (b["placed"], -b["overlap"])


def _quality(*, long: bool) -> dict:
    from scheduling.search import solve

    limits = (*QUALITY_LIMITS, *(QUALITY_LONG if long else ()))
    print(f"quality over time, classic class seeds {QUALITY_SEEDS[0]}–{QUALITY_SEEDS[-1]} in-process "
          f"(limits {', '.join(f'{x} s' for x in limits)}; placed/24 and optional-overlap minutes):")
    rows = []
    for seed in QUALITY_SEEDS:
        runs = {}
        for limit in limits:
            started = time.perf_counter()
            solution = solve(classic_problem(seed, limit))
            runs[limit] = {"placed": solution.objective["placed"],
                           "overlap": solution.objective["optional_overlap_minutes"], "status": solution.status,
                           "seconds": round(time.perf_counter() - started, 2), "load": load()}
        best = max(runs.values(), key=lambda r: (r["placed"], -r["overlap"]))
        one, ten = runs[1], runs[10]
        improved = one["status"] == "optimal" or _better(ten, one)
        within = (ten["placed"] == best["placed"] and ten["overlap"] <= 1.1 * best["overlap"]) if long else None
        rows.append({"seed": seed, "runs": runs, "best": best, "improved_1_to_10": improved, "within_10pct": within})
        cells = "  ".join(f"{lim:>3} s: {r['placed']:>2}/24 {r['overlap']:>6} min ({r['status'][:4]}, load {r['load']})"
                          for lim, r in runs.items())
        verdict = f"10 s beats 1 s: {'yes' if improved else 'NO'}"
        if long:
            verdict += f"; 10 s within 10 % of best ({best['placed']}/24 {best['overlap']} min): " \
                       f"{'yes' if within else 'NO'}"
        print(f"  seed {seed:>2}: {cells}; {verdict}", flush=True)
    return {"limits": list(limits), "seeds": rows}


# --- growth: one process per size -----------------------------------------------------------------


def _growth(env: dict[str, str]) -> list[dict]:
    print(f"growth: the classic class scaled up, batch_solve with a {GROWTH_LIMIT:g}-s limit, a fresh process per size:")
    print("| meetings | people | rooms | whole call | placed | greedy placed | status | peak RSS | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in GROWTH:
        row = _in_child(["grow", str(n)], env)
        rows.append(row)
    return rows


def scale(n: int) -> dict:
    """People and rooms in the classic proportion (20 people and 3 rooms per 24 meetings)."""
    return {"meetings": n, "people": max(20, round(n * 20 / 24)), "rooms": max(3, round(n / 8))}


def _grow(n: int) -> dict:
    import resource

    import django

    django.setup()
    from directory.models import Person
    from events.models import Room, Venue
    from scheduling.batch import BatchRequest, batch_solve
    from scheduling.instances import classic_instance
    from scheduling.problem import MeetingSpec

    inst = classic_instance(SEED, **scale(n))
    tag = f"g{n}"
    people = Person.objects.bulk_create(Person(name=f"Person {tag}-{p + 1}", email=f"{tag}-{p}@bench.example.org")
                                        for p in inst.people)
    venue = Venue.objects.create(name=f"Growth campus {n}", timezone=inst.timezone)
    rooms = Room.objects.bulk_create(Room(venue=venue, name=f"Room {tag}-{i + 1}", capacity=c) for i, c in inst.rooms)
    meetings = tuple(MeetingSpec(m["key"], m["title"], m["duration_minutes"],
                                 tuple(people[p].pk for p in m["required"]),
                                 tuple(people[p].pk for p in m["optional"])) for m in inst.meetings)

    def request(limit: float) -> BatchRequest:
        from datetime import time as clock

        return BatchRequest(timezone=inst.timezone, days=tuple(inst.days), rooms=tuple(r.pk for r in rooms),
                            meetings=meetings, day_start=clock(8), day_end=clock(18), time_limit_seconds=limit,
                            lunch=None, building_gap_minutes=0)

    batch_solve(request=request(0.05))  # warm-up: imports, the first query
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    started = time.perf_counter()
    solution = batch_solve(request=request(GROWTH_LIMIT))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    o = solution.objective
    row = {"meetings": n, "people": len(inst.people), "rooms": len(inst.rooms), "seconds": round(elapsed, 3),
           "placed": o["placed"], "greedy_placed": o.get("greedy_placed"), "status": solution.status,
           "peak_rss_mb": peak, "rss_before_mb": before, "load": load(), "stages": o["stages"],
           "stage_seconds": o.get("stage_seconds")}
    print(f"| {n} | {len(inst.people)} | {len(inst.rooms)} | {elapsed:.2f} s | {o['placed']} | {o.get('greedy_placed')} "
          f"| {solution.status} | {peak} MB | {load()} |", flush=True)
    print(json.dumps(row))
    return row


def _proposal(client) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from directory.models import Organisation, Person, Topic
    from events.models import Meeting, Participation, Room, Venue
    from visits.models import Delegation, PreferredWindow, Visit

    rng = random.Random(13)
    today = date.today()
    tuesday = today + timedelta(days=(1 - today.weekday()) % 7 + 28)
    centre = Organisation.objects.create(name="Bench centre", country="DE")
    venue = Venue.objects.create(name="Bench campus", organisation=centre, timezone="Europe/Berlin")
    rooms = [Room.objects.create(venue=venue, name=f"Room {n + 1}", capacity=c)
             for n, c in enumerate((4, 6, 8, 8, 10, 12, 14, 16, 20, 30))]
    elsewhere = Venue.objects.create(name="Other building", timezone="Europe/Berlin")
    other_rooms = [Room.objects.create(venue=elsewhere, name=f"Other {n + 1}", capacity=20) for n in range(20)]
    topics = [Topic.objects.create(name=f"Topic {n + 1}", slug=f"bench-topic-{n + 1}",
                                   meeting_minutes=rng.choice((45, 60, 90))) for n in range(8)]
    staff = Person.objects.bulk_create(Person(name=f"Dr. Staff {n + 1}", email=f"staff{n}@bench.example.org",
                                              organisation=centre) for n in range(40))
    for person in staff:
        person.expertise.set(rng.sample(topics, rng.randint(1, 2)))
    others = Person.objects.bulk_create(Person(name=f"Guest {n + 1}", email=f"guest{n}@bench.example.org")
                                        for n in range(60))
    # 5,000 existing meetings in the eight weeks around the visit: hour slots on weekdays 08–18, each
    # slot's meetings in distinct rooms with distinct people (the exclusion constraints hold).
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    slots = []
    day = tuesday - timedelta(days=28)
    while len(slots) < 400:
        if day.weekday() < 5:
            slots += [datetime(day.year, day.month, day.day, h, tzinfo=zone) for h in range(8, 18)]
        day += timedelta(days=1)
    meetings, parts = [], []
    all_rooms = rooms + other_rooms
    per_slot = 5000 // len(slots) + 1
    for slot in slots:
        chosen_rooms = rng.sample(all_rooms, per_slot)
        people = rng.sample(staff + others, per_slot * 2)
        for n in range(per_slot):
            if len(meetings) == 5000:
                break
            m = Meeting(title=f"Existing {len(meetings)}", starts_at=slot, ends_at=slot + timedelta(hours=1),
                        timezone="Europe/Berlin", room=chosen_rooms[n])
            meetings.append(m)
            parts.append((m, people[2 * n], "host"))
            parts.append((m, people[2 * n + 1], "guest"))
    Meeting.objects.bulk_create(meetings, batch_size=1000)
    Participation.objects.bulk_create(
        (Participation(meeting=m, person=p, role=role, starts_at=m.starts_at, ends_at=m.ends_at,
                       blocks_time=role == "host") for m, p, role in parts), batch_size=2000)
    lead = Person.objects.create(name="Delegation lead", email="lead@visitors.example.org")
    delegation = Delegation.objects.create(
        name="Bench delegation", organisation=Organisation.objects.create(name="Visitors", country="DK"),
        lead=lead, size=8)
    delegation.members.set([lead, *Person.objects.bulk_create(
        Person(name=f"Visitor {n}", email=f"visitor{n}@visitors.example.org") for n in range(5))])
    coordinator = Person.objects.create(name="Bench coordinator", email="coord@bench.example.org",
                                        user=get_user_model().objects.get(username="bench"))
    visit = Visit.objects.create(reference="VIS-2099-0001", delegation=delegation, contact=lead, venue=venue,
                                 coordinator=coordinator, status=Visit.Status.CONFIRMED, starts_on=tuesday,
                                 ends_on=tuesday + timedelta(days=1), timezone="Europe/Berlin")
    visit.topics.set(topics)
    PreferredWindow.objects.create(visit=visit, start=tuesday, end=tuesday + timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.post(f"/api/v1/visits/{visit.pk}/proposals/", {"time_limit_seconds": 10}, format="json")
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.content
        body = response.json()
        runs.append({"request_s": round(elapsed, 3), "solver_s": body["objective"]["solve_seconds"],
                     "stage_seconds": body["objective"].get("stage_seconds"),
                     "status": body["solver_status"], "items": len(body["items"]), "unplaced": len(body["unplaced"])})
    best = min(runs, key=lambda r: r["request_s"])
    print(f"visit proposal (8 topics, 40 staff, 10 rooms, {Meeting.objects.count():,} existing meetings): "
          + ", ".join(f"{r['request_s']:.3f} s" for r in runs)
          + f" per request (solver {best['solver_s']} s, {best['status']}, {best['items']} items placed, "
            f"{best['unplaced']} unplaced; solver stages {best['stage_seconds']})")
    return {"runs": runs}


if __name__ == "__main__":
    main()
