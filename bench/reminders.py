"""Benchmark of reminder delivery through the real path: prints figures and a ratio, asserts nothing.

    make bench            # or: .venv/bin/python -m bench.reminders [N ...]
    BENCH_REMINDERS=1000,10000,100000 .venv/bin/python -m bench.reminders   # 100k opt-in (~15 min)

For each size (default 1,000 and 10,000) that many reminders are due at once: hosts of meetings
that start in 59 minutes (booked a day ago), each owed the one-hour reminder. The pipeline is the
production one with default settings: ``notifications.dispatch_due`` tasks published to Redis, a
``celery -A config worker`` process (prefork, two processes per CPU; ``BENCH_WORKER_PROCESSES``
overrides) that reconciles what changed since its watermark (nothing here), claims rows with SKIP
LOCKED, renders each mail (text + HTML, the recipient's language, a signed opt-out link), sends it
over a reused SMTP connection and marks it sent, one UPDATE per message
(``VISITDESK_OUTBOX_MARK_EVERY=1``: the duplicate window stays one message per killed process).
The clock runs from publishing the tasks until PostgreSQL says every row is ``sent``.

The baseline is a raw ``smtplib`` loop sending the same number of messages of the same size (a real
rendered reminder) over one connection to the same server: the cost of SMTP alone. The SMTP server
(aiosmtpd, counting messages) runs in its own process so it never shares a GIL with the
orchestrator.

Uses its own database (``vd_bench_reminders`` on the server of ``DATABASE_URL``, default the local
PostgreSQL) and its own ``redis-server`` on a free port (falls back to ``REDIS_URL``), both removed
at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.pg import admin_sql, server_url, with_db
from bench.procs import free_port, private_redis, wait_until

BENCH_DB = "vd_bench_reminders"
DEFAULT_SIZES = "1000,10000"
ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).parent / "celery")






# --- children ------------------------------------------------------------------------------------


def smtp_child(port: int) -> None:
    """A counting SMTP server; answers each line on stdin with the number of messages received."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Counter:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            self.received += 1
            return "250 OK"

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(handler.received, flush=True)
    controller.stop()


def seed_child(n: int, sample_path: str) -> None:
    """Hosts, meetings starting in 59 min booked a day ago, invites already told; the dispatcher's
    first (full) reconcile; one incremental reconcile with nothing changed; keep one rendered mail."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from directory.models import Person
    from events.models import Meeting, Participation, Room, Venue
    from notifications import compose
    from notifications.models import InviteState, OutboxMessage
    from notifications.reconcile import reconcile_changes

    now = timezone.now().replace(microsecond=0)
    start = now + timedelta(minutes=59)
    venue = Venue.objects.create(name="Bench campus", city="Hamburg", country="DE")
    room_list = Room.objects.bulk_create([Room(venue=venue, name=f"Room {i}") for i in range(n)])
    people = Person.objects.bulk_create(
        [Person(name=f"Host {i}", email=f"host{i}@bench.example.org", language="de" if i % 3 == 0 else "en",
                timezone="America/New_York" if i % 5 == 0 else "Europe/Berlin") for i in range(n)],
        batch_size=2000,
    )
    meetings = Meeting.objects.bulk_create(
        [Meeting(title=f"Cooperation talk {i}", starts_at=start, ends_at=start + timedelta(minutes=45), room=r,
                 timezone="Europe/Berlin", description="Stem cells, cell therapeutics and joint EU projects.")
         for i, r in enumerate(room_list)],
        batch_size=2000,
    )
    Participation.objects.bulk_create(
        [Participation(meeting=m, person=p, role="host", starts_at=m.starts_at, ends_at=m.ends_at, blocks_time=True)
         for m, p in zip(meetings, people, strict=True)],
        batch_size=2000,
    )
    InviteState.objects.bulk_create(
        [InviteState(person=p, meeting=m, uid=m.uid, sequence=0, method="REQUEST", role="host", told_at=now)
         for m, p in zip(meetings, people, strict=True)],
        batch_size=2000,
    )
    from django.db import connection

    booked = now - timedelta(days=1)  # the meetings were booked, and their invites told, yesterday
    Meeting.objects.update(updated_at=booked)
    Person.objects.update(updated_at=booked)
    InviteState.objects.update(told_at=booked)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load; the planner needs row counts
    t0 = time.perf_counter()
    full = reconcile_changes()  # no watermark yet: a full pass, as on a dispatcher's first run
    reconcile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    quiet = reconcile_changes()  # what every later dispatch task does when nothing changed
    incremental_s = time.perf_counter() - t0
    assert full["full"] == 1 and quiet["full"] == 0, (full, quiet)
    due = OutboxMessage.objects.filter(kind="reminder", state="pending", due_at__lte=timezone.now()).count()
    row = OutboxMessage.objects.select_related("person").filter(kind="reminder").order_by("pk")[1]
    compose.preload([row])
    mail = compose.to_email(row, compose.build_message(row))
    Path(sample_path).write_bytes(mail.message().as_bytes(linesep="\r\n"))
    print(json.dumps({"due": due, "reconcile_s": reconcile_s, "incremental_s": incremental_s}))


# --- parent --------------------------------------------------------------------------------------


def raw_smtp_loop(port: int, sample: bytes, n: int) -> float:
    """The baseline: the same number of same-sized messages over one smtplib connection."""
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.localhost") as smtp:
        for i in range(n):
            smtp.sendmail("visits@bench.example.org", [f"host{i}@bench.example.org"], sample)
    return time.perf_counter() - t0


def main(sizes: list[int] | None = None) -> dict:
    sizes = sizes or [int(x) for x in os.environ.get("BENCH_REMINDERS", DEFAULT_SIZES).split(",")]
    results = [run(n) for n in sizes]
    print()
    print("| reminders | load before | reconcile full | reconcile nothing changed | pipeline | per message | "
          "raw smtplib | ratio | received |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['reminders']:,} | {r['load_average_before']:.2f} | {r['reconcile_s']:.2f} s | "
              f"{r['incremental_ms']:.1f} ms | {r['pipeline_s']:.2f} s | {r['pipeline_ms_per_msg']:.2f} ms | "
              f"{r['raw_smtplib_s']:.2f} s | {r['ratio']:.2f}× | {r['smtp_received_by_pipeline']:,} |")
    return {"runs": results}


def run(n: int) -> dict:
    server = server_url("bench.reminders")
    db_url = with_db(server, BENCH_DB)
    tmp = Path(tempfile.mkdtemp(prefix="vd-bench-reminders-"))
    procs: list[subprocess.Popen] = []
    services = ExitStack()
    try:
        admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin_sql(server, f"CREATE DATABASE {BENCH_DB}")
        redis_url = services.enter_context(private_redis(tmp))
        smtp_port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VISITDESK_TESTING": "1",
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "VISITDESK_NOTIFY_SETTLE_SECONDS": "0",
            "VISITDESK_VAR_DIR": str(tmp / "var"),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        env.pop("EMAIL_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

        smtp = subprocess.Popen([sys.executable, "-m", "bench.reminders", "smtp", str(smtp_port)], cwd=ROOT, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs.append(smtp)
        assert smtp.stdout.readline().strip() == "ready"

        def smtp_count() -> int:
            smtp.stdin.write("?\n")
            smtp.stdin.flush()
            return int(smtp.stdout.readline())

        sample_path = tmp / "sample.eml"
        seeded = subprocess.run([sys.executable, "-m", "bench.reminders", "seed", str(n), str(sample_path)],
                                cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])

        # Dispatching waits on SMTP and PostgreSQL about half the time: two processes per CPU keep CPUs busy.
        concurrency = int(os.environ.get("BENCH_WORKER_PROCESSES", 0)) or 2 * (os.cpu_count() or 1)
        log = (tmp / "worker.log").open("wb")
        worker = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "--loglevel=WARNING", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(worker)

        from celery import Celery

        client = Celery(broker=redis_url, set_as_current=False)
        ping = Celery(broker=redis_url, set_as_current=False)
        wait_until(lambda: bool(ping.control.ping(timeout=0.5)), 60, "the worker", every=0.1)

        import psycopg

        db = psycopg.connect(db_url, autocommit=True)

        def sent() -> int:
            return db.execute("SELECT count(*) FROM notifications_outboxmessage WHERE state = 'sent'").fetchone()[0]

        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        for _ in range(concurrency):
            client.send_task("notifications.dispatch_due")
        wait_until(lambda: sent() >= seed["due"], max(900, seed["due"] // 50), "every reminder to be sent",
                   every=0.1)
        pipeline_s = time.perf_counter() - t0
        states = dict(db.execute(
            "SELECT state, count(*) FROM notifications_outboxmessage GROUP BY state").fetchall())
        received = smtp_count()
        db.close()

        sample = sample_path.read_bytes()
        raw_s = raw_smtp_loop(smtp_port, sample, seed["due"])
        result = {
            "reminders": seed["due"],
            "message_bytes": len(sample),
            "worker_processes": concurrency,
            "reconcile_s": round(seed["reconcile_s"], 2),
            "incremental_ms": round(seed["incremental_s"] * 1000, 1),
            "pipeline_s": round(pipeline_s, 2),
            "pipeline_ms_per_msg": round(pipeline_s * 1000 / seed["due"], 3),
            "pipeline_msgs_per_s": round(seed["due"] / pipeline_s, 1),
            "raw_smtplib_s": round(raw_s, 2),
            "raw_msgs_per_s": round(seed["due"] / raw_s, 1),
            "ratio": round(pipeline_s / raw_s, 2),
            "smtp_received_by_pipeline": received,
            "states": states,
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
        }
        print(f"reminders due at once          {result['reminders']:>10}")
        print(f"message size                   {result['message_bytes']:>10} bytes")
        print(f"reconcile, full (creates rows) {result['reconcile_s']:>10.2f} s")
        print(f"reconcile, nothing changed     {result['incremental_ms']:>10.1f} ms")
        print(f"pipeline: Redis → worker ×{concurrency} → SMTP  {result['pipeline_s']:>7.2f} s  "
              f"{result['pipeline_msgs_per_s']:>8.1f} msg/s")
        print(f"raw smtplib, one connection    {result['raw_smtplib_s']:>7.2f} s     "
              f"{result['raw_msgs_per_s']:>8.1f} msg/s")
        print(f"per message (pipeline)         {result['pipeline_ms_per_msg']:>10.3f} ms")
        print(f"ratio pipeline / raw           {result['ratio']:>10.2f} ×   (goal: ≤ 1.5×)")
        print(f"SMTP server received           {received:>10}   outbox states {states}")
        print(f"load average before / after    {result['load_average_before']:>10.2f} / {result['load_average_after']:.2f}")
        return result
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                if proc.args and proc.args[0] == CELERY:
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        services.close()
        try:
            admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        except Exception as exc:
            print(f"could not drop {BENCH_DB}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "smtp":
        smtp_child(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "seed":
        seed_child(int(sys.argv[2]), sys.argv[3])
    else:
        main([int(x) for x in sys.argv[1:]] or None)
