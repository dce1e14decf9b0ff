"""Benchmark of the scheduler over the API on PostgreSQL: prints figures, asserts nothing.

    make bench            # or: .venv/bin/python -m bench.scheduling [--quick]

Creates its own database (``vd_bench_scheduling`` on the server of ``DATABASE_URL``, default the
local PostgreSQL) and, in one child process with production settings, measures through the API
(Django's test client: authentication, serializers, one busy-interval query, the solver, rendering):

1. the classic meeting-scheduling instance (``scheduling.instances.classic_instance``, seed 2: 24
   meetings of 2/3/4 h, 20 people with 2–10 required and 1–9 optional attendees, rooms of 30/20/16
   seats, 4 days 08:00–18:00 on a 15-minute grid): the time to the first conflict-free schedule
   (a request with a 0.25 s limit), then the optional-overlap minutes with CP-SAT's lower bound for
   requests limited to 1, 5, 10 and 30 s, and one of 120 s (``--quick`` skips the 30 and 120 s runs);
2. a visit proposal: 8 topics, 40 staff, 10 rooms and 5,000 existing meetings around the visit.

The database is dropped at the end.
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

BENCH_DB = "vd_bench_scheduling"
ROOT = Path(__file__).resolve().parent.parent
SEED = 2
LIMITS = (1, 5, 10, 30)
BEST = 120



def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        return _child(quick="--quick" in argv)
    quick = "--quick" in argv
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
    print(f"Scheduling benchmark on {urlparse(url).path.strip('/')} (load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        done = subprocess.run([sys.executable, "-m", "bench.scheduling", "child", *(["--quick"] if quick else [])],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        sys.stdout.write("\n".join(line for line in done.stdout.splitlines() if not line.startswith("{")) + "\n")
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit("bench.scheduling child failed")
        results = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return results


# --- child: everything in one process over the API ----------------------------------------------


def _child(*, quick: bool) -> dict:
    import django

    django.setup()
    from ortools import __version__ as ortools_version

    print(f"OR-Tools {ortools_version}; CP-SAT with 2 workers (interleaved, deterministic), seed 0")
    client = _coordinator_client()
    results = {"classic": _classic(client, quick=quick), "proposal": _proposal(client)}
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


def _classic(client, *, quick: bool) -> dict:
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
                    "optional_overlap_minutes": first["objective"]["optional_overlap_minutes"]}
    print(f"classic instance (seed {SEED}): first conflict-free schedule: request with a 0.25 s limit answered in "
          f"{elapsed:.3f} s, {first['objective']['placed']}/24 placed, optional overlap "
          f"{first['objective']['optional_overlap_minutes']} min; CP-SAT had it after "
          f"{first['first_complete_seconds']} s of solving")
    limits = (*LIMITS[:3], *(() if quick else (LIMITS[3], BEST)))
    for limit in limits:
        elapsed, res = post(limit)
        o = res["objective"]
        run = {"limit_s": limit, "request_s": round(elapsed, 2), "status": res["status"], "placed": o["placed"],
               "optional_overlap_minutes": o["optional_overlap_minutes"],
               "bound_minutes": o["optional_overlap_bound_minutes"], "stages": o["stages"]}
        out["runs"].append(run)
        print(f"  limit {limit:>5} s: request {elapsed:7.2f} s, {o['placed']}/24 placed, optional overlap "
              f"{o['optional_overlap_minutes']:>6} min (CP-SAT bound {o['optional_overlap_bound_minutes']} min), "
              f"status {res['status']}")
    return out


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
