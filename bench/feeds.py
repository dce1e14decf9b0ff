"""Benchmark of the calendar feeds on PostgreSQL: prints figures and ratios, asserts nothing.

    make bench            # or: .venv/bin/python -m bench.feeds

Creates its own database (``vd_bench`` on the server of ``DATABASE_URL``, default the local
PostgreSQL), builds two personal feeds of 1,000 and 10,000 meetings (rooms, agenda with topics,
three participants each, two time zones), and measures each feed in fresh processes:

* **render on write**: after the bulk import, ``manage.py render_calendar_fragments`` (what the
  worker does after each committed change, and the deployment after a renderer change) renders and
  stores every VEVENT fragment, timed on its own;
* **fresh process, fragment join = first poll after the import**: the first request of a new
  process once fragments are stored and no rendered body is cached (the first poll after any change);
* **fresh process, cached body**: the first request of another new process, which finds the body
  cached under the feed's ETag (an unchanged feed polled by a client that does not revalidate);
* **repeat** and **304** (``If-None-Match``) in that last process;
* **naive**: the baseline, one icalendar ``Calendar`` built from all rows on every request.

Timings cover the whole Django request through the test client (middleware, URL resolution,
queries, rendering, and in a fresh process connecting to the database), not interpreter start-up
nor loading the URLconf, middleware and cache client library, which every worker does once
whatever it serves first (printed apart).
The cache is a file cache per probe unless ``BENCH_REDIS_URL`` names a Redis database the bench
may write to. The database is dropped at the end.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from bench.pg import server_url, with_db

#: BENCH_FEEDS_DB: a database name of its own when several checkouts share one PostgreSQL server.
BENCH_DB = os.environ.get("BENCH_FEEDS_DB", "vd_bench")
#: BENCH_FEEDS_SIZES: comma-separated feed sizes (default 1,000, 10,000 and 50,000 meetings).
SIZES = tuple(int(x) for x in os.environ.get("BENCH_FEEDS_SIZES", "1000,10000,50000").split(","))
ROOT = Path(__file__).resolve().parent.parent
#: BENCH_FEEDS_NAIVE_MAX: the naive baseline (minutes at 50,000) only up to this size.
NAIVE_MAX = int(os.environ.get("BENCH_FEEDS_NAIVE_MAX", "10000"))


# --- parent process: database, orchestration, table ---------------------------------------------


def _admin(url: str, sql: str) -> None:
    """Run ``sql`` outside a transaction: on the server's ``postgres`` database, or on ``url``'s own."""
    import psycopg

    target = url if urlparse(url).path.strip("/") == BENCH_DB else with_db(url, "postgres")
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(sql)


def _child(args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.feeds", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench child {args[0]} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forget_cached_feeds(redis_url: str) -> None:
    """Delete memoized validators and cached bodies (only needed when probes share a Redis)."""
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url)
    for pattern in ("*visitdesk:feed-body*", "*visitdesk:feed-state:*"):
        for key in client.scan_iter(pattern, count=1000):
            client.delete(key)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> dict:
    server = server_url("bench.feeds")
    bench_url = with_db(server, BENCH_DB)
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Production settings (testing mode would give every process its own cache key prefix, and
        # DEBUG records every query): an ad-hoc secret, no HTTPS redirect for the test client.
        "VISITDESK_TESTING": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "VISITDESK_THROTTLE_FEED": "1000000/minute",  # the bench measures rendering, not the limiter
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore",
    }
    # The cache holds memoized validators and rendered bodies. By default each probe gets its own
    # var dir (file cache), so "no cached body" is really empty and no shared Redis is touched; with
    # BENCH_REDIS_URL (a Redis database the bench may write to) the probes use Redis as production
    # does, and the bench deletes the feed keys it needs gone.
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    var = Path(tempfile.mkdtemp(prefix="vd-bench-"))
    print(f"cache: {'Redis ' + urlparse(redis_url).path if redis_url else 'file cache per probe'}")
    print(f"Calendar feeds benchmark on {urlparse(bench_url)._replace(netloc=urlparse(bench_url).hostname or '').geturl()}"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    _admin(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    _admin(server, f'CREATE DATABASE "{BENCH_DB}"')
    results = {}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                       env={**env, "VISITDESK_VAR_DIR": str(var / "migrate")}, check=True)
        started = time.perf_counter()
        feeds = _child(["build", *map(str, SIZES)], {**env, "VISITDESK_VAR_DIR": str(var / "build")})
        print(f"built {sum(SIZES):,} meetings in {time.perf_counter() - started:.1f} s")
        _admin(bench_url, "VACUUM ANALYZE")  # what autovacuum does after a bulk load in production
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "render_calendar_fragments"], cwd=ROOT,
                       env={**env, "VISITDESK_VAR_DIR": str(var / "render")}, check=True)
        rendered_s = time.perf_counter() - started
        print(f"render on write (the command the worker's job amounts to): {sum(SIZES):,} meetings in "
              f"{rendered_s:.1f} s, including process start-up")
        _admin(bench_url, "VACUUM ANALYZE")
        empty = _child(["probe", feeds["empty"]["path"]], {**env, "VISITDESK_VAR_DIR": str(var / "empty")})
        print(f"a fresh process: loading URLconf, middleware, cache client {_ms(empty['urlconf_s']).strip()}, then an empty feed "
              f"{_ms(empty['first']['s']).strip()} ({empty['first']['queries']} queries, incl. connecting)")
        for size in SIZES:
            feed = feeds[str(size)]
            fragments_env = {**env, "VISITDESK_VAR_DIR": str(var / f"warm{size}")}
            _forget_cached_feeds(redis_url)
            fragments = _child(["probe", feed["path"]], fragments_env)  # stored fragments, no cached body
            cached = _child(["probe", feed["path"]], fragments_env)  # a new process finds the body cached
            naive = _child(["naive", str(feed["person_id"])], env) if size <= NAIVE_MAX else None
            results[size] = {"fragments": fragments, "cached": cached, "naive": naive}
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(var, ignore_errors=True)
    print(table(results))
    print()
    print(compression_table(results))
    return results


def compression_table(results: dict) -> str:
    """Item 5 of issue 21: body size raw vs gzip, and what a cached poll costs with each."""
    head = ("| meetings | body raw | gzip | ratio | gzip once (after a change) | cache read: raw body (before) "
            "| cache read: gzip body (now) | cached poll, gzip client | cached poll, identity client "
            "| 304 | load |")
    rows = [head, "|" + "---|" * 11]
    for size, r in results.items():
        c = r["cached"]
        rows.append(
            f"| {size:,} | {c['bytes'] / 1e6:.1f} MB | {c['bytes_gz'] / 1e6:.2f} MB | {c['bytes'] / c['bytes_gz']:.1f}× "
            f"| {_ms(c['gzip_s']).strip()} | {_ms(c['raw_get_s']).strip()} | {_ms(c['gz_get_s']).strip()} "
            f"({c['raw_get_s'] / c['gz_get_s']:.1f}× less) "
            f"| {_ms(c['repeat_gz']['s']).strip()}, {c['repeat_gz']['queries']} q "
            f"| {_ms(c['repeat']['s']).strip()}, {c['repeat']['queries']} q "
            f"| {_ms(c['not_modified']['s']).strip()} | {c['load']:.1f} |"
        )
    return "\n".join(rows)


def table(results: dict) -> str:
    head = ("| meetings | first poll after the import (fresh process, fragment join) "
            "| fresh process, 1st request (cached body) "
            "| repeat | 304 | naive 1st | naive repeat | naive / fragment join "
            "| naive / cached body | body |")
    rows = [head, "|" + "---|" * 10]
    for size, r in results.items():
        fragments, cached, naive = r["fragments"], r["cached"], r["naive"]
        if naive is None:
            rows.append(
                f"| {size:,} | {_ms(fragments['first']['s'])}, {fragments['first']['queries']} q "
                f"| {_ms(cached['first']['s'])}, {cached['first']['queries']} q "
                f"| {_ms(cached['repeat']['s'])}, {cached['repeat']['queries']} q "
                f"| {_ms(cached['not_modified']['s'])}, {cached['not_modified']['queries']} q "
                f"| (not run) | | | | {fragments['bytes'] / 1e6:.1f} MB |"
            )
            continue
        rows.append(
            f"| {size:,} | {_ms(fragments['first']['s'])}, {fragments['first']['queries']} q "
            f"| {_ms(cached['first']['s'])}, {cached['first']['queries']} q "
            f"| {_ms(cached['repeat']['s'])}, {cached['repeat']['queries']} q "
            f"| {_ms(cached['not_modified']['s'])}, {cached['not_modified']['queries']} q "
            f"| {_ms(naive['first']['s'])}, {naive['first']['queries']} q "
            f"| {_ms(naive['repeat']['s'])} "
            f"| {naive['first']['s'] / fragments['first']['s']:5.1f}× "
            f"| {naive['first']['s'] / cached['first']['s']:5.1f}× "
            f"| {fragments['bytes'] / 1e6:.1f} MB |"
        )
    return "\n".join(rows)


# --- child processes -----------------------------------------------------------------------------


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build(sizes: list[int]) -> dict:
    """Two personal feeds over disjoint meetings, bulk-inserted (services would take minutes)."""
    from datetime import UTC, datetime, timedelta

    from django.db import transaction

    from calendars.links import person_feed_url
    from directory.models import Organisation, Person, Topic
    from events.models import AgendaItem, Meeting, Participation, Room, Venue

    with transaction.atomic():
        org = Organisation.objects.create(name="Stem Cell Research Center", country="DE", city="Hamburg")
        venue = Venue.objects.create(name="Campus Nord", organisation=org, street="Martinistraße 52",
                                     postcode="20246", city="Hamburg", country="DE")
        rooms = Room.objects.bulk_create(Room(venue=venue, name=f"Room {i}", capacity=20) for i in range(20))
        topics = Topic.objects.bulk_create(Topic(name=name, slug=f"topic-{i}") for i, name in enumerate(
            ["Stem cell R&D", "Cell therapeutics", "EU funding: Horizon 2020", "Eureka"]))
        people = Person.objects.bulk_create(
            Person(name=f"Member {i}", email=f"member{i}@lifescience-nord.example.org", organisation=org)
            for i in range(60))
        chairs, guests = people[:10], people[10:]
        base = datetime(2026, 12, 1, 8, tzinfo=UTC)
        feeds, slot = {}, 0
        for size in sizes:
            owner = Person.objects.create(name=f"Host of {size}", email=f"host{size}@stemcell.example.org",
                                          organisation=org)
            meetings = []
            for i in range(size):
                starts = base + timedelta(hours=2 * slot)
                slot += 1
                meetings.append(Meeting(
                    title=f"Cooperation meeting {i}: cell therapeutics, EU programmes",
                    description="Discuss cross-border R&D cooperation; joint proposals, lab visit, next steps.",
                    starts_at=starts, ends_at=starts + timedelta(minutes=90),
                    timezone="America/New_York" if i % 5 == 0 else "Europe/Berlin",
                    room=rooms[i % len(rooms)], online_url=f"https://meet.example.org/r{i}" if i % 3 == 0 else "",
                ))
            meetings = Meeting.objects.bulk_create(meetings, batch_size=1000)
            parts, items = [], []
            for i, m in enumerate(meetings):
                for person, role in ((owner, "host"), (chairs[i % len(chairs)], "chair"), (guests[i % len(guests)], "guest")):
                    parts.append(Participation(meeting=m, person=person, role=role, starts_at=m.starts_at,
                                               ends_at=m.ends_at, blocks_time=role != "guest"))
                for position in range(2):
                    items.append(AgendaItem(meeting=m, position=position, title=f"Agenda point {position + 1}",
                                            topic=topics[(i + position) % len(topics)], presenter=owner, minutes=30))
            Participation.objects.bulk_create(parts, batch_size=2000)
            AgendaItem.objects.bulk_create(items, batch_size=2000)
            feeds[str(size)] = {"person_id": owner.pk, "path": urlparse(person_feed_url(owner)).path}
        nobody = Person.objects.create(name="No meetings", email="nobody@stemcell.example.org", organisation=org)
        feeds["empty"] = {"person_id": nobody.pk, "path": urlparse(person_feed_url(nobody)).path}
    return feeds


def _timed_request(client, path: str, **headers) -> tuple[dict, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        response.body_bytes = _content(response)  # a streamed body is sent (decompressed) here: timed too
        elapsed = time.perf_counter() - started
    return {"s": elapsed, "queries": len(ctx.captured_queries), "status": response.status_code}, response


def probe(path: str) -> dict:
    """First request of this process, a repeat and a conditional request, through the whole stack."""
    from django.core.cache import cache
    from django.test import Client
    from django.urls import resolve

    # Loading the URLconf (the whole site: API, schema, web views), the middleware chain and the cache
    # client library is what every worker pays once, whatever it serves first: timed on its own.
    started = time.perf_counter()
    resolve(path)
    client = Client()
    client.handler.load_middleware()
    cache.get("bench-warm-up")  # imports the cache client library (redis: ~0.15 s)
    urlconf = time.perf_counter() - started
    first, response = _timed_request(client, path)
    repeat, again = _timed_request(client, path)
    not_modified, _ = _timed_request(client, path, If_None_Match=response["ETag"])
    assert first["status"] == repeat["status"] == 200 and not_modified["status"] == 304, (first, repeat, not_modified)
    raw = response.body_bytes
    assert raw == again.body_bytes, "feed bodies differ between requests"
    repeat_gz, zipped = _timed_request(client, path, Accept_Encoding="gzip")
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == raw, "gzip round trip differs"

    from calendars.feeds import gzip_body

    started = time.perf_counter()
    compressed = gzip_body(raw)
    gzip_s = time.perf_counter() - started
    # What a cached poll copies out of the cache: the whole raw body before, the compressed one now.
    cache.set("bench-raw-body", raw, 600)
    cache.set("bench-gz-body", compressed, 600)
    raw_get_s = min(_timed(lambda: cache.get("bench-raw-body")) for _ in range(3))
    gz_get_s = min(_timed(lambda: cache.get("bench-gz-body")) for _ in range(3))
    cache.delete_many(["bench-raw-body", "bench-gz-body"])
    return {"urlconf_s": urlconf, "first": first, "repeat": repeat, "not_modified": not_modified,
            "bytes": len(raw), "bytes_gz": len(compressed), "repeat_gz": repeat_gz, "gzip_s": gzip_s,
            "raw_get_s": raw_get_s, "gz_get_s": gz_get_s, "load": os.getloadavg()[0]}


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def naive(person_id: int) -> dict:
    """The baseline: a full icalendar Calendar from all rows on every request, no fragments, no validator."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from icalendar import Calendar

    from calendars import ical
    from calendars.snapshot import meeting_data
    from events.selectors import meeting_list

    def one_request() -> tuple[dict, bytes]:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            rows = meeting_list().filter(participations__person_id=person_id).order_by("pk")
            cal = Calendar()
            cal.add("prodid", ical.PRODID)
            cal.add("version", "2.0")
            cal.add("x-wr-calname", "naive")
            for meeting in rows:
                cal.add_component(ical.meeting_vevent(meeting_data(meeting), audience=ical.PRIVATE))
            cal.add_missing_timezones()
            body = cal.to_ical()
            elapsed = time.perf_counter() - started
        return {"s": elapsed, "queries": len(ctx.captured_queries)}, body

    first, body = one_request()
    repeat = one_request()[0] if len(body) < 20_000_000 else first  # big feeds: once is enough (minutes)
    return {"first": first, "repeat": repeat, "bytes": len(body)}


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["main"]
    if command == "main":
        main()
    else:
        _setup()
        result = {"build": lambda: build([int(a) for a in args]),
                  "probe": lambda: probe(args[0]),
                  "naive": lambda: naive(int(args[0]))}[command]()
        print(json.dumps(result))
