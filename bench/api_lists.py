"""Benchmark of the API lists on PostgreSQL: prints figures, their baselines and ratios, asserts nothing.

    python -m bench.api_lists [MEETINGS]     # default 60,000: page 600 of 100 exists

Creates its own database (``vd_bench_lists``, or ``BENCH_LISTS_DB``) on the server of
``DATABASE_URL``, bulk-loads MEETINGS meetings (three participants and two agenda items each, as
the feeds bench) and a coordinator with an API token, then measures in a fresh process running
production settings, each figure through the whole Django stack (test client, every middleware,
token authentication):

* **page of 100 vs the bare view** — ``GET /api/v1/meetings/?page_size=100`` (the first page, with
  its one COUNT, and a later page through its cursor) against the baseline the issue names: a plain
  Django view returning ``values()`` of the same 100 meetings as JSON through the same middleware;
* **depth** — page 1 against page 600 of 100, following ``next`` links (keyset), and the same
  pages by ``?page=N`` (OFFSET and a COUNT per page: what every list did before; the baseline).

Each figure is the median of repeated requests; the load average is printed next to it.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.pg import admin_sql, server_url, with_db

BENCH_DB = os.environ.get("BENCH_LISTS_DB", "vd_bench_lists")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MEETINGS = 60_000
REPEAT = 15


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def bench_env(database_url: str, var: Path) -> dict[str, str]:
    """Production settings for the children (the feeds bench's): no DEBUG query log, no testing prefix."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VISITDESK_TESTING": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "VISITDESK_THROTTLE_FEED": "1000000/minute",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
        "VISITDESK_VAR_DIR": str(var),
    }
    env.pop("REDIS_URL", None)
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


def _child(module: str, args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"bench child {module} {args[0]} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(meetings: int = DEFAULT_MEETINGS) -> dict:
    server = server_url("bench.api_lists")
    url = with_db(server, BENCH_DB)
    var = Path(tempfile.mkdtemp(prefix="vd-bench-lists-"))
    env = bench_env(url, var)
    print(f"API lists benchmark, {meetings:,} meetings ({_load()} on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        built = _child("bench.api_lists", ["build", str(meetings)], env)
        print(f"built {meetings:,} meetings in {time.perf_counter() - started:.1f} s")
        admin_sql(url, "VACUUM ANALYZE")
        result = _child("bench.api_lists", ["probe", built["token"]], env)
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(table(result))
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def table(r: dict) -> str:
    bare, first, later = r["bare"], r["page1"], r["page2"]
    rows = [
        "| figure | time (median) | baseline (same run) | speed vs baseline | load |",
        "|---|---|---|---|---|",
        f"| page of 100 meetings, first page (with its COUNT) | {_ms(first['s'])}, {first['q']} q "
        f"| bare view (values() + JSON) {_ms(bare['s'])}, {bare['q']} q | {bare['s'] / first['s'] * 100:.0f} % | {first['load']:.1f} |",
        f"| page of 100 meetings, next page (cursor, no COUNT) | {_ms(later['s'])}, {later['q']} q "
        f"| bare view {_ms(bare['s'])} | {bare['s'] / later['s'] * 100:.0f} % | {later['load']:.1f} |",
        f"| page {r['deep_page']} of 100, keyset (cursor) | {_ms(r['deep_cursor']['s'])}, {r['deep_cursor']['q']} q "
        f"| page 1 keyset {_ms(first['s'])} | depth costs {r['deep_cursor']['s'] / later['s']:.2f}× page 2 "
        f"| {r['deep_cursor']['load']:.1f} |",
        f"| page {r['deep_page']} of 100, ?page={r['deep_page']} (OFFSET + COUNT, as before) | {_ms(r['deep_offset']['s'])}, {r['deep_offset']['q']} q "
        f"| ?page=1 {_ms(r['page1_offset']['s'])} | depth costs {r['deep_offset']['s'] / r['page1_offset']['s']:.2f}× "
        f"| {r['deep_offset']['load']:.1f} |",
        f"| page {r['deep_page']}: keyset vs OFFSET | {_ms(r['deep_cursor']['s'])} | {_ms(r['deep_offset']['s'])} "
        f"| {r['deep_offset']['s'] / r['deep_cursor']['s']:.1f}× faster | |",
    ]
    return "\n".join(rows)


# --- children ------------------------------------------------------------------------------------


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(n: int) -> dict:
    """``n`` meetings like the feeds bench's, bulk-inserted, and a coordinator's API token."""
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from directory.models import Organisation, Person, Topic
    from events.models import AgendaItem, Meeting, Participation, Room, Venue

    with transaction.atomic():
        user = get_user_model().objects.create_user("bench-coordinator", password=secrets.token_urlsafe(), is_staff=True)
        token = Token.objects.create(user=user)
        org = Organisation.objects.create(name="Stem Cell Research Center", country="DE", city="Hamburg")
        venue = Venue.objects.create(name="Campus Nord", organisation=org, street="Martinistraße 52",
                                     postcode="20246", city="Hamburg", country="DE")
        rooms = Room.objects.bulk_create(Room(venue=venue, name=f"Room {i}", capacity=20) for i in range(20))
        topics = Topic.objects.bulk_create(Topic(name=f"Topic {i}", slug=f"topic-{i}") for i in range(4))
        people = Person.objects.bulk_create(
            Person(name=f"Member {i}", email=f"member{i}@example.org", organisation=org) for i in range(60))
        base = datetime(2026, 12, 1, 8, tzinfo=UTC)
        for start in range(0, n, 5000):
            batch = []
            for i in range(start, min(n, start + 5000)):
                # Two meetings share each start time: pages must neither repeat nor skip equal keys.
                starts = base + timedelta(hours=i // 2)
                batch.append(Meeting(
                    title=f"Cooperation meeting {i}", description="Joint proposals, lab visit, next steps.",
                    starts_at=starts, ends_at=starts + timedelta(minutes=90),
                    timezone="Europe/Berlin", room=rooms[i % len(rooms)],
                ))
            batch = Meeting.objects.bulk_create(batch, batch_size=1000)
            parts, items = [], []
            for i, m in enumerate(batch):
                for k, role in enumerate(("host", "chair", "guest")):
                    person = people[(i + 20 * k) % len(people)]
                    parts.append(Participation(meeting=m, person=person, role=role, starts_at=m.starts_at,
                                               ends_at=m.ends_at, blocks_time=role != "guest"))
                for position in range(2):
                    items.append(AgendaItem(meeting=m, position=position, title=f"Point {position + 1}",
                                            topic=topics[(i + position) % 4], presenter=people[i % 60], minutes=30))
            Participation.objects.bulk_create(parts, batch_size=2000)
            AgendaItem.objects.bulk_create(items, batch_size=2000)
    return {"token": token.key}


BARE_FIELDS = ("id", "uid", "sequence", "status", "title", "description", "starts_at", "ends_at", "timezone",
               "room_id", "location", "online_url", "kind", "event_id", "cancelled_at", "created_at", "updated_at")


def bare_view(request):
    """The baseline: 100 meetings as ``values()`` and JSON, no serializer, no relations."""
    from django.http import JsonResponse

    from events.models import Meeting

    rows = list(Meeting.objects.order_by("starts_at", "id").values(*BARE_FIELDS)[:100])
    return JsonResponse({"results": rows})


def _timed(client, path: str, token: str) -> tuple[dict, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs, response = [], None
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(path, headers={"Authorization": f"Token {token}"})
            runs.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return {"s": statistics.median(runs), "q": len(ctx.captured_queries), "load": os.getloadavg()[0]}, response


def probe(token: str) -> dict:
    from events.models import Meeting

    deep_page = min(600, Meeting.objects.count() // 100)  # page 600 with the default 60,000 meetings
    from django.test import Client, override_settings
    from django.urls import clear_url_caches

    with override_settings(ROOT_URLCONF="bench.api_lists_urls"):
        clear_url_caches()
        client = Client()
        client.get("/api/v1/meetings/?page_size=1", headers={"Authorization": f"Token {token}"})  # warm up
        bare, _ = _timed(client, "/bench/bare-meetings/", token)
        page1, response = _timed(client, "/api/v1/meetings/?page_size=100", token)
        assert len(response.json()["results"]) == 100
        next_url = response.json()["next"]
        page2, _ = _timed(client, next_url, token)
        # Follow the links to page 600 (what a client paging through everything does).
        for _page in range(2, deep_page):
            next_url = client.get(next_url, headers={"Authorization": f"Token {token}"}).json()["next"]
        deep_cursor, deep = _timed(client, next_url, token)
        page1_offset, _ = _timed(client, "/api/v1/meetings/?page_size=100&page=1", token)
        deep_offset, deep_by_number = _timed(client, f"/api/v1/meetings/?page_size=100&page={deep_page}", token)
        assert [m["id"] for m in deep.json()["results"]] == [m["id"] for m in deep_by_number.json()["results"]]
    return {"bare": bare, "page1": page1, "page2": page2, "deep_cursor": deep_cursor,
            "page1_offset": page1_offset, "deep_offset": deep_offset, "deep_page": deep_page}


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["main"]
    if command == "main":
        main()
    elif command.isdigit():
        main(int(command))
    else:
        _setup()
        result = {"build": lambda: build(int(args[0])), "probe": lambda: probe(args[0])}[command]()
        print(json.dumps(result))
