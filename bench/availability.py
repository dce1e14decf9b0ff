"""Benchmark of the free-slot search on PostgreSQL: prints figures and ratios, asserts nothing.

    make bench            # or: .venv/bin/python -m bench.availability

Creates its own database (``vd_bench_availability`` on the server of ``DATABASE_URL``, default the
local PostgreSQL) with 30 hosts and 10 rooms with working/bookable hours, 20,000 scheduled meetings
over half a year (hosts as chair/host/presenter, half of them in a room), 20,000 busy intervals imported from
the hosts' own calendars and a few absences. Then it asks, for 3 hosts and any of the 10 rooms,
for 60-minute slots on the 15-minute grid in windows of 1 and 4 weeks:

* **API**: ``GET /api/v1/availability/`` through the whole Django stack (test client, session
  login, middleware, URL resolution, permission checks, JSON), one query doing the multirange
  arithmetic in PostgreSQL;
* **Python path**: the interval arithmetic the SQLite default uses, on the same data (selector call);
* **naive in memory**: the baseline, a Python loop over every candidate slot checking each person's
  working hours and every busy row and room row (loaded once) for overlap, stopping at the first
  busy person (selector-level, so it does not even pay for HTTP);
* **naive ORM per slot**: the loop many apps start with, ``exists()`` queries per candidate slot,
  person and room.

Each figure is the p50 and p95 of many queries over different hosts and window starts; all three
answers are compared for equality. The database is dropped at the end.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from bench.pg import admin_sql, server_url, with_db

BENCH_DB = "vd_bench_availability"
ROOT = Path(__file__).resolve().parent.parent
HOSTS, ROOMS, MEETINGS, IMPORTED = 30, 10, 20_000, 20_000
REPEATS = {"API": 40, "python": 15, "naive": 8, "naive_orm": 3}



def main() -> dict:
    server = server_url("bench.availability")
    bench_url = with_db(server, BENCH_DB)
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VISITDESK_TESTING": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("REDIS_URL", None)
    var = Path(tempfile.mkdtemp(prefix="vd-bench-avail-"))
    env["VISITDESK_VAR_DIR"] = str(var)
    print(f"Availability benchmark on {urlparse(bench_url)._replace(netloc=urlparse(bench_url).hostname or '').geturl()}"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        done = subprocess.run([sys.executable, "-m", "bench.availability", "run"], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit("bench child failed")
        lines = done.stdout.strip().splitlines()
        print("\n".join(lines[:-1]))
        results = json.loads(lines[-1])
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(var, ignore_errors=True)
    print(table(results))
    return results


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def table(results: dict) -> str:
    rows = ["| window | slots found | API p50 | API p95 | Python path p50 | naive in memory p50 (p95) "
            "| naive / API | naive ORM per slot p50 | ORM naive / API | same answers |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for window, r in results.items():
        rows.append(
            f"| {window} | {r['slots']} | {_ms(r['API']['p50'])} | {_ms(r['API']['p95'])} | {_ms(r['python']['p50'])} "
            f"| {_ms(r['naive']['p50'])} ({_ms(r['naive']['p95']).strip()}) | {r['naive']['p50'] / r['API']['p50']:6.1f}× "
            f"| {_ms(r['naive_orm']['p50'])} | {r['naive_orm']['p50'] / r['API']['p50']:6.1f}× "
            f"| {'yes' if r['same'] else 'NO'} |"
        )
    return "\n".join(rows)


# --- child process -------------------------------------------------------------------------------


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(rng: random.Random) -> dict:
    """Bulk inserts (services would take minutes); schedules respect the exclusion constraints."""
    from datetime import UTC, datetime, timedelta
    from datetime import time as clock

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from availability.models import Absence, ExternalBusy, ExternalCalendar, WeeklyHours
    from directory.models import Organisation, Person
    from events.models import Meeting, Participation, Room, Venue

    started = time.perf_counter()
    first_day = datetime(2026, 7, 1, tzinfo=UTC)
    days = 182  # the import horizon (180 days) and a half year of programme
    with transaction.atomic():
        org = Organisation.objects.create(name="Stem Cell Research Center", country="DE", city="Hamburg")
        venue = Venue.objects.create(name="Campus Nord", organisation=org, timezone="Europe/Berlin")
        rooms = Room.objects.bulk_create(Room(venue=venue, name=f"Room {i}", capacity=20, bookable_from=clock(7),
                                              bookable_until=clock(20)) for i in range(ROOMS))
        hosts = Person.objects.bulk_create(
            Person(name=f"Host {i}", email=f"host{i}@stemcell.example.org", organisation=org,
                   timezone="America/New_York" if i % 10 == 9 else "Europe/Berlin")
            for i in range(HOSTS))
        weekly = []
        for i, host in enumerate(hosts):
            for day in range(5):
                if i % 3 == 0:  # a lunch break
                    weekly += [WeeklyHours(person=host, weekday=day, start=clock(8), end=clock(12)),
                               WeeklyHours(person=host, weekday=day, start=clock(13), end=clock(18))]
                else:
                    weekly.append(WeeklyHours(person=host, weekday=day, start=clock(8 + i % 2), end=clock(17 + i % 2)))
        WeeklyHours.objects.bulk_create(weekly)
        # meetings: greedy placement, no room and no blocking person in two overlapping meetings
        room_busy: dict = {}
        person_busy: dict = {}
        meetings, roles = [], []
        while len(meetings) < MEETINGS:
            day = rng.randrange(days)
            start = first_day + timedelta(days=day, hours=6) + timedelta(minutes=30 * rng.randrange(27))
            end = start + timedelta(minutes=rng.choice([30, 45, 60, 90, 120]))
            people = rng.sample(range(HOSTS), rng.choice([1, 1, 1, 2, 2, 3]))
            room = rng.randrange(ROOMS) if rng.random() < 0.5 else None
            keys = [("r", room)] if room is not None else []
            keys += [("p", p) for p in people]
            if any(a < end and start < b for k in keys for a, b in (room_busy if k[0] == "r" else person_busy)
                   .get((k[1], day), [])):
                continue
            for k in keys:
                (room_busy if k[0] == "r" else person_busy).setdefault((k[1], day), []).append((start, end))
            meetings.append(Meeting(title=f"Meeting {len(meetings)}", starts_at=start, ends_at=end,
                                    room=rooms[room] if room is not None else None, timezone="Europe/Berlin"))
            roles.append(people)
        meetings = Meeting.objects.bulk_create(meetings, batch_size=2000)
        Participation.objects.bulk_create(
            (Participation(meeting=m, person=hosts[p], role=("chair", "host", "presenter")[n], starts_at=m.starts_at,
                           ends_at=m.ends_at, blocks_time=True)
             for m, people in zip(meetings, roles, strict=True) for n, p in enumerate(people)),
            batch_size=5000)
        calendars = ExternalCalendar.objects.bulk_create(
            ExternalCalendar(person=h, url=f"https://calendar.example.org/{h.pk}.ics", busy_count=IMPORTED // HOSTS)
            for h in hosts)
        busy = []
        for n in range(IMPORTED):
            calendar = calendars[n % HOSTS]
            start = first_day + timedelta(days=rng.randrange(days), hours=5) + timedelta(minutes=15 * rng.randrange(60))
            busy.append(ExternalBusy(calendar=calendar, person_id=calendar.person_id, starts_at=start,
                                     ends_at=start + timedelta(minutes=rng.choice([30, 60, 60, 90, 180]))))
        ExternalBusy.objects.bulk_create(busy, batch_size=5000)
        for i, h in enumerate(hosts):  # one week of holiday each, spread over the year
            a = first_day + timedelta(days=(i * 12) % days)
            Absence.objects.create(person=h, starts_at=a, ends_at=a + timedelta(days=5), reason="Holiday")
        user = get_user_model().objects.create_user("bench-coordinator", is_staff=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {len(meetings):,} meetings, {len(busy):,} imported busy intervals in "
          f"{time.perf_counter() - started:.1f} s")
    return {"hosts": [h.pk for h in hosts], "rooms": [r.pk for r in rooms], "user": user.pk}


def naive_slots(*, people, rooms, start, end, duration, granularity, tz):
    """The baseline: for every candidate start, check each person and room against every row."""
    import zoneinfo
    from datetime import timedelta

    from availability import hours
    from availability.models import Absence, ExternalBusy, RoomClosure
    from events.models import Meeting, Participation

    zone = zoneinfo.ZoneInfo(tz)
    person_rows = {p: [] for p in people}
    for pid, a, b in Participation.objects.filter(person_id__in=people, meeting__status="scheduled",
                                                  meeting__starts_at__lt=end, meeting__ends_at__gt=start
                                                  ).values_list("person_id", "meeting__starts_at", "meeting__ends_at"):
        person_rows[pid].append((a, b))
    for model in (Absence, ExternalBusy):
        for pid, a, b in model.objects.filter(person_id__in=people, starts_at__lt=end, ends_at__gt=start
                                              ).values_list("person_id", "starts_at", "ends_at"):
            person_rows[pid].append((a, b))
    room_rows = {r: [] for r in rooms}
    for rid, a, b in Meeting.objects.filter(room_id__in=rooms, status="scheduled", starts_at__lt=end,
                                            ends_at__gt=start).values_list("room_id", "starts_at", "ends_at"):
        room_rows[rid].append((a, b))
    for rid, a, b in RoomClosure.objects.filter(room_id__in=rooms, starts_at__lt=end, ends_at__gt=start
                                                ).values_list("room_id", "starts_at", "ends_at"):
        room_rows[rid].append((a, b))
    patterns = hours.person_patterns(people)
    from events.models import Room

    room_patterns = {r.pk: hours.room_pattern(zone=r.venue.timezone, bookable_from=r.bookable_from,
                                              bookable_until=r.bookable_until)
                     for r in Room.objects.filter(pk__in=rooms).select_related("venue")}

    def inside(pattern, a, b, person: bool) -> bool:
        if pattern is None:
            return True
        spans = hours.open_hours(pattern, a, b) if person else hours.expand(pattern, a, b)
        return any(x <= a and b <= y for x, y in spans)

    slots = []
    step = timedelta(minutes=1)
    g = int(granularity.total_seconds() // 60)
    t = start
    while t + duration <= end:
        local = t.astimezone(zone)
        if (local.hour * 60 + local.minute) % g == 0 and local.second == 0:
            b = t + duration
            ok = all(inside(patterns.get(p), t, b, True) and not any(x < b and y > t for x, y in person_rows[p])
                     for p in people)
            if ok:
                free = [r for r in rooms if inside(room_patterns[r], t, b, False)
                        and not any(x < b and y > t for x, y in room_rows[r])]
                if free:
                    slots.append((t, b, free))
            t += timedelta(minutes=g) if (local.minute % g == 0 and local.second == 0) else step
        else:
            t += step
    return slots


def naive_orm_slots(*, people, rooms, start, end, duration, granularity, tz):
    """The ORM-per-slot baseline many apps start with: for every candidate start, ``exists()`` queries
    for each person (meetings, absences, imported busy) and each room (meetings, closures)."""
    import zoneinfo
    from datetime import timedelta

    from availability import hours
    from availability.models import Absence, ExternalBusy, RoomClosure
    from events.models import Meeting, Participation, Room

    zone = zoneinfo.ZoneInfo(tz)
    patterns = hours.person_patterns(people)
    room_patterns = {r.pk: hours.room_pattern(zone=r.venue.timezone, bookable_from=r.bookable_from,
                                              bookable_until=r.bookable_until)
                     for r in Room.objects.filter(pk__in=rooms).select_related("venue")}

    def inside(pattern, a, b, person: bool) -> bool:
        if pattern is None:
            return True
        spans = hours.open_hours(pattern, a, b) if person else hours.expand(pattern, a, b)
        return any(x <= a and b <= y for x, y in spans)

    def person_free(p, a, b) -> bool:
        return (inside(patterns.get(p), a, b, True)
                and not Participation.objects.filter(person_id=p, meeting__status="scheduled",
                                                     meeting__starts_at__lt=b, meeting__ends_at__gt=a).exists()
                and not Absence.objects.filter(person_id=p, starts_at__lt=b, ends_at__gt=a).exists()
                and not ExternalBusy.objects.filter(person_id=p, starts_at__lt=b, ends_at__gt=a).exists())

    def room_free(r, a, b) -> bool:
        return (inside(room_patterns[r], a, b, False)
                and not Meeting.objects.filter(room_id=r, status="scheduled", starts_at__lt=b, ends_at__gt=a).exists()
                and not RoomClosure.objects.filter(room_id=r, starts_at__lt=b, ends_at__gt=a).exists())

    slots = []
    g = int(granularity.total_seconds() // 60)
    t = start
    while t + duration <= end:
        local = t.astimezone(zone)
        if (local.hour * 60 + local.minute) % g == 0 and local.second == 0:
            b = t + duration
            if all(person_free(p, t, b) for p in people):
                free = [r for r in rooms if room_free(r, t, b)]
                if free:
                    slots.append((t, b, free))
            t += timedelta(minutes=g)
        else:
            t += timedelta(minutes=1)
    return slots


def run() -> dict:
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model
    from django.test import Client

    from availability.selectors import free_slots

    rng = random.Random(12)
    world = build(rng)
    client = Client()
    client.force_login(get_user_model().objects.get(pk=world["user"]))
    rooms = ",".join(map(str, world["rooms"]))
    results = {}
    for label, days in (("1 week", 7), ("4 weeks", 28)):
        cases = []
        for _ in range(REPEATS["API"]):
            people = rng.sample(world["hosts"], 3)
            start = datetime(2026, 7, 6, tzinfo=UTC) + timedelta(days=rng.randrange(140))
            cases.append((people, start, start + timedelta(days=days)))
        # warm-up: URLconf, middleware, the first connection
        client.get("/api/v1/availability/", {"people": ",".join(map(str, cases[0][0])), "rooms": rooms,
                                             "start": cases[0][1].isoformat(), "end": cases[0][2].isoformat(),
                                             "duration": "60", "timezone": "Europe/Berlin"})
        api_times, api_answers = [], []
        for people, start, end in cases:
            t0 = time.perf_counter()
            response = client.get("/api/v1/availability/", {
                "people": ",".join(map(str, people)), "rooms": rooms, "start": start.isoformat(),
                "end": end.isoformat(), "duration": "60", "timezone": "Europe/Berlin"})
            api_times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content[:300]
            api_answers.append(response.json()["slots"])
        kwargs = {"rooms": world["rooms"], "duration": timedelta(minutes=60), "granularity": timedelta(minutes=15),
                  "tz": "Europe/Berlin"}
        python_times, naive_times, same = [], [], True
        for i, (people, start, end) in enumerate(cases[: REPEATS["python"]]):
            t0 = time.perf_counter()
            python = free_slots(people=people, start=start, end=end, engine="python", **kwargs)
            python_times.append(time.perf_counter() - t0)
            same &= [(s.starts_at, s.rooms) for s in python] == [
                (datetime.fromisoformat(s["starts_at"]), s["rooms"]) for s in api_answers[i]]
        for i, (people, start, end) in enumerate(cases[: REPEATS["naive"]]):
            t0 = time.perf_counter()
            naive = naive_slots(people=people, start=start, end=end, **kwargs)
            naive_times.append(time.perf_counter() - t0)
            same &= [(a, r) for a, _, r in naive] == [
                (datetime.fromisoformat(s["starts_at"]), s["rooms"]) for s in api_answers[i]]

        orm_times = []
        for i, (people, start, end) in enumerate(cases[: REPEATS["naive_orm"]]):
            t0 = time.perf_counter()
            naive = naive_orm_slots(people=people, start=start, end=end, **kwargs)
            orm_times.append(time.perf_counter() - t0)
            same &= [(a, r) for a, _, r in naive] == [
                (datetime.fromisoformat(s["starts_at"]), s["rooms"]) for s in api_answers[i]]

        def stats(values):
            ordered = sorted(values)
            return {"p50": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
                    "n": len(ordered)}

        results[label] = {"API": stats(api_times), "python": stats(python_times), "naive": stats(naive_times),
                          "naive_orm": stats(orm_times),
                          "slots": round(statistics.mean(len(a) for a in api_answers)), "same": same}
        print(f"{label}: API p50 {_ms(results[label]['API']['p50']).strip()} over {len(cases)} queries, "
              f"naive p50 {_ms(results[label]['naive']['p50']).strip()} over {len(naive_times)}")
    return results


if __name__ == "__main__":
    command = (sys.argv[1:] or ["main"])[0]
    if command == "main":
        main()
    else:
        _setup()
        print(json.dumps(run()))
