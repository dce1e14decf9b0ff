"""Webhook delivery latency at rest: from the API write to the signed POST arriving at a receiver.

    make bench            # or: .venv/bin/python -m bench.webhooks [N]

N (default 40) meetings are booked one after the other through ``POST /api/v1/meetings/`` on a
gunicorn server, each once the previous one's webhook has arrived (the system at rest, not a
backlog). The path is the production one: the booking commits, the after-commit signal queues
``webhooks.observe`` on Redis, a ``celery -A config worker`` process observes the meeting, writes the
event and its delivery, claims it, signs it (Standard Webhooks) and POSTs it to a receiver — an
``http.server`` in its own process that verifies the signature with ``standardwebhooks`` and prints
the arrival time. Latency = arrival − the moment the client started the request; the API's own
answer time is printed beside it. Prints figures, asserts nothing.

Uses its own database (``vd_bench_webhooks`` on the server of ``DATABASE_URL``) and its own
``redis-server`` on a free port (falls back to ``REDIS_URL``), both removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from bench.pg import admin_sql, server_url, with_db
from bench.procs import free_port, private_redis, wait_until

BENCH_DB = "vd_bench_webhooks"
DEFAULT_N = 40
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent





# --- children ------------------------------------------------------------------------------------


def receiver_child(port: int, secret_path: str) -> None:
    """Verify every POST with the endpoint's secret; print one JSON line per delivery."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks import Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.time()
            try:
                payload = Webhook(Path(secret_path).read_text().strip()).verify(body, dict(self.headers.items()))
                line = {"arrived": arrived, "type": payload["type"],
                        "meeting": payload["data"].get("meeting", {}).get("id"), "verified": True}
            except Exception as exc:  # a bench reports, it does not stop
                line = {"arrived": arrived, "verified": False, "error": str(exc)}
            self.send_response(204)
            self.end_headers()
            print(json.dumps(line), flush=True)

        def log_message(self, format, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def seed_child() -> None:
    """A coordinator with a token, hosts, rooms; prints the token and ids."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from directory.models import Person
    from events.models import Room, Venue

    user = get_user_model().objects.create_user("bench", "bench@centre.example.org", "x", is_staff=True)
    venue = Venue.objects.create(name="Bench campus", city="Hamburg", country="DE")
    rooms = [Room.objects.create(venue=venue, name=f"Room {i}").pk for i in range(4)]
    hosts = [Person.objects.create(name=f"Host {i}", email=f"host{i}@bench.example.org").pk for i in range(4)]
    print(json.dumps({"token": Token.objects.create(user=user).key, "rooms": rooms, "hosts": hosts}))


# --- parent --------------------------------------------------------------------------------------


def _api(base: str, token: str, path: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def main(n: int | None = None) -> dict:
    n = n or int(os.environ.get("BENCH_WEBHOOKS", DEFAULT_N))
    server = server_url("bench.webhooks")
    db_url = with_db(server, BENCH_DB)
    tmp = Path(tempfile.mkdtemp(prefix="vd-bench-webhooks-"))
    procs: list[subprocess.Popen] = []
    services = ExitStack()
    try:
        admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin_sql(server, f"CREATE DATABASE {BENCH_DB}")
        redis_url = services.enter_context(private_redis(tmp))
        web_port, receiver_port = free_port(), free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VISITDESK_TESTING": "1",
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "VISITDESK_BUSY_FETCH_ALLOW_PRIVATE": "1",  # the receiver is on this machine
            "VISITDESK_VAR_DIR": str(tmp / "var"),
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("EMAIL_URL", None)  # invitations to the hosts go to .eml files under the var folder
        env.pop("EMAIL_HOST", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        seed = json.loads(subprocess.run([sys.executable, "-m", "bench.webhooks", "seed"], cwd=ROOT, env=env,
                                         check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        secret_path = tmp / "secret"
        secret_path.write_text("whsec_AAAA")
        receiver = subprocess.Popen([sys.executable, "-m", "bench.webhooks", "receiver", str(receiver_port),
                                     str(secret_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                                    start_new_session=True)
        procs.append(receiver)
        assert receiver.stdout.readline().strip() == "ready"
        web = subprocess.Popen([str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "2",
                                "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True,
                               stdout=(tmp / "web.log").open("wb"), stderr=subprocess.STDOUT)
        procs.append(web)
        worker = subprocess.Popen([str(BIN / "celery"), "-A", "config", "worker", "--loglevel=WARNING",
                                   "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                                  cwd=ROOT, env=env, start_new_session=True,
                                  stdout=(tmp / "worker.log").open("wb"), stderr=subprocess.STDOUT)
        procs.append(worker)
        from celery import Celery

        ping = Celery(broker=redis_url, set_as_current=False)
        wait_until(lambda: bool(ping.control.ping(timeout=0.5)), 60, "the worker", every=0.02)
        base = f"http://127.0.0.1:{web_port}"

        def web_up() -> bool:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                return True
            except OSError:
                return False

        wait_until(web_up, 60, "gunicorn", every=0.02)
        status, endpoint = _api(base, seed["token"], "/api/v1/webhooks/", {
            "url": f"http://127.0.0.1:{receiver_port}/hooks", "event_types": ["meeting.created"]})
        assert status == 201, endpoint
        secret_path.write_text(endpoint["secret"])

        import queue
        import threading

        arrivals: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=lambda: [arrivals.put(json.loads(line)) for line in receiver.stdout],
                         daemon=True).start()
        load_before = os.getloadavg()[0]
        latencies, answers, unverified = [], [], 0
        started: dict[int, float] = {}
        day = date.today() + timedelta(days=14)
        for i in range(n + 2):  # the first two warm the worker's and the web processes' connections
            start = day + timedelta(days=i // 8)
            hour = 8 + i % 8
            body = {"title": f"Bench meeting {i}", "starts_at": f"{start}T{hour:02d}:00:00+00:00",
                    "ends_at": f"{start}T{hour:02d}:30:00+00:00", "timezone": "Europe/Berlin",
                    "room": seed["rooms"][i % 4],
                    "participants": [{"person": seed["hosts"][i % 4], "role": "host"}]}
            t0 = time.time()
            status, meeting = _api(base, seed["token"], "/api/v1/meetings/", body)
            answered = time.time()
            assert status == 201, meeting
            while True:
                line = arrivals.get(timeout=60)
                if not line.get("verified"):
                    unverified += 1
                    continue
                if line["meeting"] == meeting["id"]:
                    break
            if i >= 2:
                started[meeting["id"]] = t0
                latencies.append(line["arrived"] - t0)
                answers.append(answered - t0)
            time.sleep(0.2)  # at rest: nothing else in flight

        # Where the time goes: the request and the queue until the worker observed the change (the
        # event's time), then claiming, signing and POSTing until the attempt began.
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as db:
            rows = db.execute(
                "SELECT (e.data->'meeting'->>'id')::int, extract(epoch FROM e.occurred_at),"
                " extract(epoch FROM a.attempted_at) FROM webhooks_webhookevent e"
                " JOIN webhooks_webhookdelivery d ON d.event_id = e.id"
                " JOIN webhooks_webhookattempt a ON a.delivery_id = d.id").fetchall()
        to_observed = [float(observed) - started[m] for m, observed, _ in rows if m in started]
        if os.environ.get("BENCH_WEBHOOKS_TRACE"):
            for m, observed, attempt in sorted(rows):
                if m in started:
                    print(f"meeting {m}: observed +{float(observed) - started[m]:.3f} s, "
                          f"POST +{float(attempt) - started[m]:.3f} s")
        to_attempt = [float(attempt) - float(observed) for m, observed, attempt in rows if m in started]

        def ms(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        result = {
            "deliveries": len(latencies),
            "latency_median_ms": round(1000 * statistics.median(latencies), 1),
            "latency_p90_ms": ms(latencies, 0.9),
            "latency_max_ms": round(1000 * max(latencies), 1),
            "api_answer_median_ms": round(1000 * statistics.median(answers), 1),
            "api_answer_max_ms": round(1000 * max(answers), 1),
            "write_to_observed_median_ms": round(1000 * statistics.median(to_observed), 1),
            "observed_to_post_median_ms": round(1000 * statistics.median(to_attempt), 1),
            "unverified": unverified,
            "load_average_before": round(load_before, 2),
        }
        print(f"deliveries (one at a time)     {result['deliveries']:>10}")
        print(f"API write → receiver, median   {result['latency_median_ms']:>10.1f} ms")
        print(f"API write → receiver, p90      {result['latency_p90_ms']:>10.1f} ms")
        print(f"API write → receiver, max      {result['latency_max_ms']:>10.1f} ms")
        print(f"API answer (201), median / max {result['api_answer_median_ms']:>10.1f} ms / "
              f"{result['api_answer_max_ms']:.1f} ms")
        print(f"  of which: write → worker observed it   {result['write_to_observed_median_ms']:>8.1f} ms (median)")
        print(f"            observed → POST started       {result['observed_to_post_median_ms']:>8.1f} ms (median)")
        print(f"signatures not verifying       {result['unverified']:>10}")
        print(f"load average before the run    {result['load_average_before']:>10.2f}")
        return result
    finally:
        for proc in reversed(procs):
            _stop(proc)
        services.close()
        try:
            admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        except Exception as exc:
            print(f"could not drop {BENCH_DB}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        receiver_child(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "seed":
        seed_child()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
