"""How long a reminder the SMTP server accepted stays unknown to the database: prints figures, asserts nothing.

    .venv/bin/python -m bench.duplicate_window [N]      # default 2,000 reminders

A worker killed (``kill -9``) after the server's "250 OK" for a message and before that message's
"sent" mark committed leaves the row in ``sending``; the sweeper returns it to pending and the
reminder goes out a second time. This bench measures that window on the real path: N reminders due
at once (``bench.reminders``' seed), one dispatcher (``notifications.dispatch.dispatch_due``, in a
process of its own, default settings) sending them to an aiosmtpd server in a process of its own that notes
when it accepted each message, and the moment each mark returned (autocommit: committed). Both
clocks are the machine's ``CLOCK_MONOTONIC``.

It prints the window per message (median, p90, max) and the *exposed fraction*: the share of the
run during which some accepted message was still unmarked — the chance that a kill at a random
moment of a busy batch re-sends one reminder. (Kept since the pipelined marks were tried: 1.8 ms and
63 % with them against 0.7–0.9 ms and 25 % with marks in line, on the same machine.)

Uses its own database (``vd_bench_window`` on the server of ``DATABASE_URL``), dropped at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.pg import admin_sql, server_url, with_db
from bench.procs import free_port

BENCH_DB = "vd_bench_window"
ROOT = Path(__file__).resolve().parent.parent


def sink_child(port: int) -> None:
    """An SMTP server noting when it accepted each message; prints them as JSON on a line from stdin."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    accepted: list[float] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            accepted.append(time.monotonic())
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(accepted), flush=True)
    controller.stop()


def dispatch_child() -> None:
    """One dispatcher run with default settings; prints when each "sent" mark returned (committed)."""
    import django

    django.setup()
    from notifications import dispatch

    marked: list[float] = []
    record_sent = dispatch.record_sent

    def timed_record_sent(*args, **kwargs):
        result = record_sent(*args, **kwargs)
        marked.append(time.monotonic())
        return result

    dispatch.record_sent = timed_record_sent
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    stats = dispatch.dispatch_due()
    print(json.dumps({"marked": marked, "run_s": time.monotonic() - t0, "load_before": load_before,
                      "stats": stats}))


def main(n: int | None = None) -> dict:
    n = n or int(os.environ.get("BENCH_WINDOW_REMINDERS", 2000))
    server = server_url("bench.duplicate_window")
    tmp = tempfile.mkdtemp(prefix="vd-bench-window-")
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VISITDESK_TESTING": "1",
           "DATABASE_URL": with_db(server, BENCH_DB), "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
           "VISITDESK_NOTIFY_SETTLE_SECONDS": "0", "VISITDESK_VAR_DIR": f"{tmp}/var", "DJANGO_LOG_LEVEL": "WARNING"}
    env.pop("EMAIL_URL", None)
    admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(server, f"CREATE DATABASE {BENCH_DB}")
    sink = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "-m", "bench.reminders", "seed", str(n), f"{tmp}/sample.eml"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        sink = subprocess.Popen([sys.executable, "-m", "bench.duplicate_window", "sink", str(port)], cwd=ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None and sink.stdin is not None
        assert sink.stdout.readline().strip() == "ready"
        ran = subprocess.run([sys.executable, "-m", "bench.duplicate_window", "dispatch"], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True)
        run = json.loads(ran.stdout.strip().splitlines()[-1])
        sink.stdin.write("done\n")
        sink.stdin.flush()
        accepted = json.loads(sink.stdout.readline())
    finally:
        if sink is not None:
            sink.kill()
        admin_sql(server, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    marked, run_s = run["marked"], run["run_s"]
    if not (len(accepted) == len(marked) == n):
        raise SystemExit(f"expected {n} accepted and marked, got {len(accepted)} and {len(marked)} ({run['stats']})")
    windows = sorted(m - a for a, m in zip(accepted, marked, strict=True))
    result = {
        "reminders": n,
        "load_average_before": round(run["load_before"], 2),
        "run_s": round(run_s, 2),
        "ms_per_message": round(run_s * 1000 / n, 3),
        "window_ms_median": round(statistics.median(windows) * 1000, 3),
        "window_ms_p90": round(windows[int(0.9 * (n - 1))] * 1000, 3),
        "window_ms_max": round(windows[-1] * 1000, 3),
        "exposed_fraction": round(sum(windows) / run_s, 3),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["sink"]:
        sink_child(int(sys.argv[2]))
    elif sys.argv[1:2] == ["dispatch"]:
        dispatch_child()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
