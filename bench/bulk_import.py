"""Benchmark: from a bulk import through the API to a complete feed, with one worker process.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/N python -m bench.bulk_import [MEETINGS]   # default 10,000

Creates its own database (``vd_bench_bulk`` or ``BENCH_BULK_DB``) on the server of ``DATABASE_URL``
and uses the Redis database ``BENCH_REDIS_URL`` as broker and cache (it deletes the two queues it
uses there first). It starts ``celery -A config worker -Q celery,calendars --concurrency=1`` — one
worker process for mail *and* render work, as the issue measured — and then, in one process with
production settings, POSTs MEETINGS meetings to ``/api/v1/meetings/`` from two API clients
(``BENCH_BULK_WRITERS``), each one request after the other, as a coordinator (each with the same host, so each one invites and each one lands in the host's
personal feed), while a "subscriber" thread polls that feed every second. After the last write it
polls until the feed answers 200 with every meeting in it and prints the lag: the issue's goal is
30 s (it measured 55 s in one run and a feed still answering 503 after 180 s in another, with one
render task per commit). Mail goes to files (``EMAIL_URL=file://``); the worker log gives the
number of render tasks that ran against the number of commits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.api_lists import bench_env
from bench.pg import admin_sql, server_url, with_db
from bench.procs import wait_until

BENCH_DB = os.environ.get("BENCH_BULK_DB", "vd_bench_bulk")
ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")
DEFAULT_MEETINGS = 10_000
GIVE_UP_AFTER = 600
#: API clients writing at once (BENCH_BULK_WRITERS), each one request after the other.
WRITERS = int(os.environ.get("BENCH_BULK_WRITERS", "2"))


def main(meetings: int = DEFAULT_MEETINGS) -> dict:
    redis_url = os.environ.get("BENCH_REDIS_URL")
    if not redis_url:
        print("bench.bulk_import needs BENCH_REDIS_URL (a Redis database it may use as broker); skipped")
        return {}
    import redis

    broker = redis.Redis.from_url(redis_url)
    broker.delete("celery", "calendars", "unacked", "unacked_index")
    server = server_url("bench.bulk_import")
    url = with_db(server, BENCH_DB)
    var = Path(tempfile.mkdtemp(prefix="vd-bench-bulk-"))
    env = {**bench_env(url, var), "EMAIL_URL": f"file://{var / 'mail'}",
           "VISITDESK_THROTTLE_FEED": "1000000/minute"}
    print(f"Bulk import benchmark: {meetings:,} meetings through the API, one worker process "
          f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{BENCH_DB}"')
    worker = None
    log = var / "worker.log"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        worker = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "-Q", "celery,calendars", "--concurrency=1", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "-n", f"bench-bulk-{os.getpid()}@%h"],
            cwd=ROOT, env={**env, "DJANGO_LOG_LEVEL": "INFO"},  # INFO: the task lines counted below
            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        from celery import Celery

        ping = Celery(broker=redis_url, set_as_current=False)
        # Asked, not read from the log: the "ready." line depends on the logging configuration.
        wait_until(lambda: worker.poll() is not None or bool(ping.control.ping(timeout=0.5)), 90, "the worker")
        if worker.poll() is not None:
            raise SystemExit("worker did not start:\n" + log.read_text(errors="replace")[-3000:])
        done = subprocess.run([sys.executable, "-m", "bench.bulk_import", "run", str(meetings)], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise SystemExit("bench child failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        text = log.read_text(errors="replace")
        result["render_tasks"] = len(re.findall(r"Task calendars\.render_stale\[[^\]]+\] succeeded", text))
        result["dispatch_tasks"] = len(re.findall(r"Task notifications\.dispatch_due\[[^\]]+\] succeeded", text))
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        admin_sql(server, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(var, ignore_errors=True)
    print(table(result))
    return result


def table(r: dict) -> str:
    lag = r["lag_s"]
    lag_text = f"{lag:.1f} s" if lag is not None else f"not complete after {GIVE_UP_AFTER} s"
    ratio = f"{lag / 30:.2f}× the goal" if lag is not None else "—"
    return "\n".join([
        "| figure | value | baseline / goal | ratio | load |",
        "|---|---|---|---|---|",
        f"| {r['meetings']:,} meetings POSTed through the API ({WRITERS} clients) | {r['import_s']:.0f} s "
        f"({r['import_s'] / r['meetings'] * 1000:.1f} ms each) | | | {r['load_import']:.1f} |",
        f"| last write → complete feed (200, every meeting) | {lag_text} | goal 30 s (issue: 55 s, and > 180 s) "
        f"| {ratio} | {r['load_end']:.1f} |",
        f"| render tasks run for {r['meetings']:,} commits | {r['render_tasks']} | {r['meetings']:,} (one per commit, before) "
        f"| {r['render_tasks'] / r['meetings']:.4f} | |",
        f"| subscriber polls during the import: 200 / 503 | {r['polls_200']} / {r['polls_503']} | | | |",
        f"| dispatcher runs (mail, same worker process) | {r['dispatch_tasks']} | | | |",
    ])


# --- the child: import through the API while a subscriber polls ------------------------------------


def run(n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlparse

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from calendars.links import person_feed_url
    from directory.models import Person

    user = get_user_model().objects.create_user("bench-coordinator", is_staff=True)
    token = Token.objects.create(user=user).key
    host = Person.objects.create(name="Dr. Hanna Host", email="hanna.host@example.org")
    feed = urlparse(person_feed_url(host)).path
    headers = {"Authorization": f"Token {token}"}
    base = datetime(2027, 1, 4, 8, tzinfo=UTC)
    polls = {200: 0, 503: 0, "other": 0}
    stop = threading.Event()

    def subscriber() -> None:
        client = Client()
        while not stop.is_set():
            status = client.get(feed).status_code
            polls[status if status in (200, 503) else "other"] += 1
            stop.wait(1.0)
        connection.close()

    poller = threading.Thread(target=subscriber, daemon=True)
    poller.start()
    failures: list[str] = []

    def writer(numbers: range) -> None:
        client = Client()
        for i in numbers:
            starts = base + timedelta(hours=i)
            response = client.post("/api/v1/meetings/", data=json.dumps({
                "title": f"Imported meeting {i}", "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=45)).isoformat(), "timezone": "Europe/Berlin",
                "location": "Campus Nord", "participants": [{"person": host.pk, "role": "host"}],
                "override_availability": True,
            }), content_type="application/json", headers=headers)
            if response.status_code != 201:
                failures.append(f"meeting {i}: {response.status_code} {response.content[:300]!r}")
                break
        connection.close()

    started = time.perf_counter()
    writers = [threading.Thread(target=writer, args=(range(k, n, WRITERS),)) for k in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    last_write = time.perf_counter()
    load_import = os.getloadavg()[0]
    stop.set()
    poller.join(30)
    lag = None
    probe = Client()
    while time.perf_counter() - last_write < GIVE_UP_AFTER:
        response = probe.get(feed)
        if response.status_code == 200 and response.content.count(b"BEGIN:VEVENT") == n:
            lag = time.perf_counter() - last_write
            break
        time.sleep(0.5)
    return {"meetings": n, "import_s": last_write - started, "lag_s": lag, "polls_200": polls[200],
            "polls_503": polls[503], "load_import": load_import, "load_end": os.getloadavg()[0]}


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["main"]
    if command == "run":
        print(json.dumps(run(int(args[0]))))
    elif command.isdigit():
        main(int(command))
    else:
        main()
