"""Benchmark of the programme rules (issue 19) on PostgreSQL: prints figures, asserts nothing.

    .venv/bin/python -m bench.programme_rules [--quick]

In its own database (``vd_bench_programme_rules`` on the server of ``DATABASE_URL``), one child process
with production settings measures ``scheduling.services.proposal_create`` (5-s limit, as the page asks):

1. generated visits like tests/scheduling/test_rules_property.py (1–3 days, 1–8 topics, random
   absences, Berlin holidays, random room sets; 60 visits, ``--quick`` 20): the share whose proposal
   passes every rule of ``visits.rules``, the share that breaks nothing but what an unplaced item
   explains (the rules the visit allows), and the proposal times;
2. a visit of 8 topics over 2 days with 200 staff (median of 3 proposals);
3. a visit of 16 topics over 3 days with 200 staff: the time, unplaced items and the check.

The database is dropped at the end.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.pg import admin_sql, server_url, with_db

BENCH_DB = "vd_bench_programme_rules"
ROOT = Path(__file__).resolve().parent.parent
STARTS = [date(2027, 3, 8), date(2027, 5, 6), date(2027, 6, 7), date(2027, 9, 14), date(2027, 10, 11)]



def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        return _child(quick="--quick" in argv)
    quick = "--quick" in argv
    server = server_url("bench.programme_rules")
    url = with_db(server, BENCH_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "VISITDESK_TESTING": "0",
           "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_SECURE_SSL_REDIRECT": "0",
           "DJANGO_ALLOWED_HOSTS": "testserver", "DJANGO_LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore"}
    env.pop("REDIS_URL", None)
    print(f"Programme-rules benchmark on {BENCH_DB} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        done = subprocess.run([sys.executable, "-m", "bench.programme_rules", "child", *(["--quick"] if quick else [])],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        sys.stdout.write("\n".join(line for line in done.stdout.splitlines() if not line.startswith("{")) + "\n")
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit("bench.programme_rules child failed")
        results = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    return results


# --- child ---------------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _visit(rng: random.Random, *, start: date, days: int, topics: list[int], staff_count: int, rooms: list[int],
           dining: bool, size: int, absences: int, experts_per_topic: int = 2, tag: str = "v"):
    from availability.models import Absence
    from directory.models import Organisation, Person, Topic
    from events.models import Room, Venue
    from visits.models import Delegation, Visit

    org = Organisation.objects.create(name=f"Centre {tag}", country="DE")
    venue = Venue.objects.create(name=f"Campus {tag}", country="DE", subdivision="BE", timezone="Europe/Berlin")
    for n, capacity in enumerate(rooms):
        Room.objects.create(venue=venue, name=f"Room {n}", capacity=capacity)
    if dining:
        Room.objects.create(venue=venue, name="Cafeteria", capacity=200, dining=True)
    staff = Person.objects.bulk_create(Person(name=f"Dr. Staff {tag}{n}", email=f"s{n}.{tag}@centre.example.org",
                                              organisation=org) for n in range(staff_count))
    coordinator = Person.objects.create(name=f"Coordinator {tag}", email=f"c.{tag}@centre.example.org",
                                        organisation=org)
    guests = Organisation.objects.create(name=f"Guests {tag}", country="SE")
    members = Person.objects.bulk_create(Person(name=f"Guest {tag}{n}", email=f"g{n}.{tag}@guests.example.org",
                                                organisation=guests) for n in range(size))
    delegation = Delegation.objects.create(name=f"Guests {tag}", organisation=guests, size=size, lead=members[0])
    delegation.members.set(members[1:])
    visit = Visit.objects.create(reference=f"VIS-B-{tag}"[:20], delegation=delegation, contact=members[0],
                                 venue=venue, coordinator=coordinator, timezone="Europe/Berlin", starts_on=start,
                                 ends_on=start + timedelta(days=days - 1))
    for n, minutes in enumerate(topics):
        topic = Topic.objects.create(name=f"Topic {tag}{n}", slug=f"t-{tag}-{n}", meeting_minutes=minutes)
        visit.topics.add(topic)
        for person in rng.sample(staff, min(len(staff), rng.randint(1, experts_per_topic))):
            person.expertise.add(topic)
    for _ in range(absences):
        day = start + timedelta(days=rng.randrange(days))
        a = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        Absence.objects.create(person=rng.choice(staff), starts_at=a, ends_at=a + timedelta(days=1))
    return visit


def _propose(visit) -> tuple[float, object, list, list]:
    from scheduling import services
    from scheduling.check import proposal_check

    began = time.monotonic()
    proposal = services.proposal_create(visit=visit, time_limit_seconds=5)
    seconds = time.monotonic() - began
    items = list(proposal.items.all())
    return seconds, proposal, items, [r for r in proposal_check(proposal) if not r.kept]


def _allowed(items) -> set[str]:
    from visits import rules
    from visits.models import ProgrammeKind

    missing = {i.kind for i in items if not i.placed and not i.removed}
    return {rule for kind, rule in ((ProgrammeKind.WELCOME, rules.WELCOME_FIRST),
                                    (ProgrammeKind.WRAP_UP, rules.WRAP_UP_LAST), (ProgrammeKind.LUNCH, rules.LUNCH))
            if kind in missing}


def _generated(count: int) -> dict:
    from django.db import transaction

    rng = random.Random(19)
    passed = explained = 0
    times: list[float] = []
    broken_rules: dict[str, int] = {}
    for n in range(count):
        spec = dict(start=rng.choice(STARTS), days=rng.randint(1, 3),
                    topics=[rng.choice([60, 90]) for _ in range(rng.randint(1, 8))], staff_count=6,
                    rooms=rng.sample([3, 8, 14, 20, 60], rng.randint(1, 4)), dining=rng.random() < 0.5,
                    size=rng.randint(2, 5), absences=rng.randint(0, 3), tag=f"g{n}")
        try:
            with transaction.atomic():
                seconds, _proposal, items, broken = _propose(_visit(rng, **spec))
                times.append(seconds)
                passed += not broken
                explained += {r.rule for r in broken} <= _allowed(items)
                for r in broken:
                    broken_rules[r.rule] = broken_rules.get(r.rule, 0) + 1
                raise _Rollback
        except _Rollback:
            pass
    out = {"visits": count, "pass_every_rule": passed, "pass_every_allowed_rule": explained,
           "broken": broken_rules, "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}
    print(f"generated visits: {passed}/{count} pass every rule ({100 * passed / count:.0f} %), "
          f"{explained}/{count} every rule the visit allows ({100 * explained / count:.0f} %); "
          f"broken: {broken_rules or 'none'}; proposal median {out['median_s']} s, max {out['max_s']} s")
    return out


def _large(topics: int, days: int, runs: int) -> dict:
    from django.db import transaction

    rng = random.Random(topics)
    times, unplaced, broken_counts = [], [], []
    for run in range(runs):
        try:
            with transaction.atomic():
                visit = _visit(rng, start=date(2027, 6, 7), days=days, topics=[rng.choice([45, 60, 90])
                                                                               for _ in range(topics)],
                               staff_count=200, rooms=[4, 8, 12, 14, 20, 30, 40, 60, 80, 100], dining=True, size=6,
                               absences=20, experts_per_topic=4, tag=f"l{topics}r{run}")
                seconds, _proposal, items, broken = _propose(visit)
                times.append(seconds)
                unplaced.append(sum(1 for i in items if not i.placed and not i.removed))
                broken_counts.append(sorted(r.rule for r in broken))
                raise _Rollback
        except _Rollback:
            pass
    out = {"topics": topics, "days": days, "staff": 200, "median_s": round(statistics.median(times), 3),
           "times_s": [round(t, 3) for t in times], "unplaced": unplaced, "broken": broken_counts}
    print(f"{topics} topics / {days} days / 200 staff: proposal {out['times_s']} s (median {out['median_s']} s), "
          f"unplaced {unplaced}, broken rules {broken_counts}")
    return out


def _child(*, quick: bool) -> dict:
    import django

    django.setup()
    results = {"generated": _generated(20 if quick else 60), "eight_topics": _large(8, 2, 3),
               "sixteen_topics": _large(16, 3, 1 if quick else 3)}
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
