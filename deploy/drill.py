"""The several-machines drill (issue 23, item 4): two web servers, two workers and one beat against one
PostgreSQL and one Redis, driven over HTTP, with a worker and a web server killed mid-way and a second
beat started by mistake — then every mail must have arrived once (but for the one message per killed
worker process that SMTP cannot help re-sending: see ``resend_verdict``) and every feed must agree
with the database.

    python -m deploy.drill                 # local processes (make drill): DATABASE_URL / REDIS_URL's servers
    python -m deploy.drill --compose       # the podman-compose deployment (make drill-compose)

What it does, in order (about 4 minutes; a hard limit of --timeout seconds ends it with a failure):

1. *Start.* Local: a fresh database ``<name>_drill`` next to DATABASE_URL's, the Redis database of
   VISITDESK_DRILL_REDIS_URL (default REDIS_URL) flushed, ``migrate``, then
   ``gunicorn -c config/gunicorn.conf.py`` ×2, ``celery worker`` ×2 and ``celery beat`` with production
   settings. Compose: the containers ``make compose-up`` started. Both: an aiosmtpd SMTP sink that keeps
   every message it accepts, a coordinator and an API token (``createsuperuser``, ``drf_create_token``),
   and a **second beat** started by mistake (local: another process; compose: ``podman container
   clone`` of the beat container), running until the end.
2. *Drive*, through both web servers in turn (4 client threads): people; three visit requests (the
   public API), confirmed, with three programme meetings each and "send programme"; 24 meetings
   starting in an hour and a bit, so that their 60-minute reminders fall due during the drill, each
   with 4 hosts of its own, each POST with an ``Idempotency-Key``; then programme changes: 8 meetings moved, 3 cancelled, one meeting
   per visit moved (a "programme updated" mail to the delegation).
3. *Kill* one web server (SIGKILL, while bookings are in flight; clients retry on the other with
   the same Idempotency-Key) and one worker: the one whose SMTP connection delivered the first
   reminder (found by its client port), SIGKILLed as that reminder arrives, in the middle of its batch.
4. *Settle*: wait until the outbox (reconciled first, as each dispatch does) has nothing due within
   two minutes, returning rows the killed worker left in
   ``sending`` to pending once they are 60 s old (what beat's sweeper does after 10 minutes).
5. *Check*, and exit non-zero on any failure:
   - mails: each outbox key (``X-Visitdesk-Key``) arrived at most once — except a message the killed
     worker had handed to the server and not yet marked sent (its row left in ``sending``, first copy
     before the kill, second after, at most one per SMTP connection: printed, not a failure) —, every row the database calls
     sent arrived, nothing arrived that the database does not call sent, no row failed, nothing due
     is left; each participant of each standalone meeting got exactly one reminder (none for
     cancelled meetings) and their last invitation carries the meeting's current SEQUENCE;
   - bookings: no meeting was created twice by a retried request;
   - feeds, from every web server still up: each visit's subscription feed and each meeting's signed
     link (from the mails) list every expected meeting with the SEQUENCE and status the API gives;
   - the second beat: it did send its ticks (the doubled runs are counted) and nothing was doubled.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import email
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DRILL_PREFIX = "Drill"
BERLIN = ZoneInfo("Europe/Berlin")
#: Participants (all hosts, so each gets a reminder) of each standalone meeting.
PER_MEETING = 4

# --- the SMTP sink ------------------------------------------------------------------------------


@dataclass
class Received:
    peer: tuple
    key: str
    message_id: str
    rcpt: str
    kind: str
    at: float
    message: email.message.EmailMessage


@dataclass
class Sink:
    """aiosmtpd handler: keeps every message it accepted (a real MTA's "250 OK")."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    first_reminder: threading.Event = field(default_factory=threading.Event)
    first_reminder_peer: tuple = ()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        key = str(message.get("X-Visitdesk-Key", ""))
        item = Received(peer=tuple(session.peer or ()), key=key, message_id=str(message.get("Message-ID", "")), rcpt=",".join(envelope.rcpt_tos),
                        kind=key.split(":", 1)[0], at=time.monotonic(), message=message)
        with self.lock:
            self.received.append(item)
        if key.startswith("reminder:") and not self.first_reminder.is_set():
            self.first_reminder_peer = item.peer
            self.first_reminder.set()
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def start_sink(host: str, port: int):
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink()
    controller = Controller(sink, hostname=host, port=port, ready_timeout=10)
    controller.start()
    return sink, controller


# --- HTTP to both web servers -------------------------------------------------------------------


class Cut(Exception):
    """The connection to a web server broke (refused, reset, no answer)."""


@dataclass
class WebServer:
    name: str
    url: str
    alive: bool = True
    served: int = 0
    cut: int = 0


class Api:
    """The coordinator's API client, taking the web servers in turn and moving on when one is gone."""

    def __init__(self, servers: list[WebServer], token: str | None = None):
        self.servers = servers
        self.token = token
        self.lock = threading.Lock()
        self.turn = 0
        self.retried = 0
        self.waited_in_progress = 0

    def live(self) -> list[WebServer]:
        return [s for s in self.servers if s.alive]

    def _next(self) -> WebServer:
        with self.lock:
            live = self.live()
            if not live:
                raise RuntimeError("no web server is up")
            server = live[self.turn % len(live)]
            self.turn += 1
            return server

    def raw(self, server: WebServer, method: str, path: str, body: Any = None, *, headers: dict | None = None,
            auth: bool = True, timeout: float = 60) -> tuple[int, Any, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(server.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth and self.token:
            request.add_header("Authorization", f"Token {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                status, answer_headers = response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, answer_headers = error.read(), error.code, dict(error.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            raise Cut(f"{server.name}: {error}") from error
        with self.lock:
            server.served += 1
        if "json" in answer_headers.get("Content-Type", ""):
            return status, json.loads(raw or b"null"), answer_headers
        return status, raw, answer_headers

    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None, auth: bool = True,
             expect: tuple[int, ...] = (200, 201), tries: int = 6) -> Any:
        """One request; a broken connection is retried on the next server (same Idempotency-Key)."""
        headers = {"Idempotency-Key": key} if key else {}
        last = ""
        attempt = 0
        in_progress_until = time.monotonic() + IN_PROGRESS_PATIENCE
        while attempt < tries:
            attempt += 1
            server = self._next()
            try:
                status, answer, _ = self.raw(server, method, path, body, headers=headers, auth=auth)
            except Cut as cut:
                last = str(cut)
                with self.lock:
                    server.cut += 1
                    self.retried += 1
                if not healthy(server.url):
                    server.alive = False
                continue
            if status == 409 and isinstance(answer, dict) and "idempotency_in_progress" in json.dumps(answer):
                # The first attempt's claim: still running, or left by the killed server, in which case
                # the API hands the key over once gunicorn's timeout has passed. Wait for either.
                last = f"{status} {answer}"
                if time.monotonic() < in_progress_until:
                    with self.lock:
                        self.waited_in_progress += 1
                    attempt -= 1
                time.sleep(2)
                continue
            if status in expect:
                return answer
            raise RuntimeError(f"{method} {path} → {status}: {str(answer)[:600]}")
        raise RuntimeError(f"{method} {path} failed {tries} times: {last}")

    def all_pages(self, path: str) -> list[dict]:
        items, page = [], 1
        while True:
            sep = "&" if "?" in path else "?"
            answer = self.call("GET", f"{path}{sep}page={page}")
            items.extend(answer["results"])
            if not answer.get("next"):
                return items
            page += 1


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- where the processes run ----------------------------------------------------------------------

#: Settings for the drill's deployment (both kinds): settle quickly, throttles out of the way.
DRILL_SETTINGS = {
    "VISITDESK_NOTIFY_SETTLE_SECONDS": "5",
    "VISITDESK_THROTTLE_VISIT_REQUEST": "1000/hour",
    "VISITDESK_THROTTLE_ACK_ADDRESS": "1000/day",
    "VISITDESK_THROTTLE_PUBLIC": "10000/minute",
    "VISITDESK_THROTTLE_STATUS": "10000/minute",
    "VISITDESK_THROTTLE_FEED": "10000/minute",
    "WEB_CONCURRENCY": "2",
    # gunicorn's timeout, and so how long an Idempotency-Key claim of the killed server blocks retries.
    "VISITDESK_WEB_TIMEOUT": "30",
    "VISITDESK_SOLVE_MAX_SECONDS": "10",  # at most half of the web timeout − 10 s (config/settings.py)
}

#: How long a client waits for a claim "in progress" (VISITDESK_WEB_TIMEOUT below + 10 s, and a margin).
IN_PROGRESS_PATIENCE = 80

#: Printed by the shell snippets below, so the answer can be found among Django's own output.
MARK = "DRILL-JSON "

OUTBOX_STATE = """
import json
from datetime import timedelta
from django.utils import timezone
from notifications.models import OutboxMessage
from notifications.reconcile import reconcile
# What each dispatch does first: owe what the last changes call for (idempotent), so a change whose
# update is not owed yet is not mistaken for a settled outbox.
reconcile()
now = timezone.now()
rows = list(OutboxMessage.objects.values("key", "kind", "state", "due_at", "last_error", "meeting_id", "person_id"))
for row in rows:
    due_at = row.pop("due_at")
    row["due"] = due_at <= now
    row["soon"] = due_at <= now + timedelta(seconds=120)
print("DRILL-JSON " + json.dumps(rows, default=str))
"""

RECOVER = """
import json
from datetime import timedelta
from django.utils import timezone
from notifications.dispatch import recover_stuck
from notifications.models import OutboxMessage
older = timedelta(seconds={seconds})
keys = list(OutboxMessage.objects.filter(state="sending", claimed_at__lte=timezone.now() - older).values_list("key", flat=True))
print("DRILL-JSON " + json.dumps({{"recovered": recover_stuck(older_than=older), "keys": keys}}))
"""

MAKE_COORDINATOR = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="drill-coordinator", defaults={"is_staff": True, "is_superuser": True, "email": "coordinator@drill.example.org"})
print("DRILL-JSON " + json.dumps(Token.objects.get_or_create(user=user)[0].key))
"""


def resend_verdict(received: list[Received], *, in_flight: set[str], killed_at: float | None) -> tuple[list[str], list[str]]:
    """Mails that arrived more than once: (failures, the keys re-sent after the worker kill).

    A worker killed between the server's "250 OK" and the commit of that message's "sent" mark leaves
    the row in ``sending``; once recovered it goes out again. That window cannot be closed over SMTP
    (the server cannot be asked what it took), only kept to one message per worker process
    (``notifications.dispatch``; ``bench.duplicate_window`` measures it). So a second copy is the
    documented window, not a failure, only if all of this holds: exactly two copies; its row was one
    the killed worker left in ``sending`` (``in_flight``: the rows the drill returned to pending); the
    first copy arrived before the kill and the second after it; and no other such copy came over the
    same SMTP connection (one message in flight per process). Anything else is a failure.
    """
    copies: dict[str, list[Received]] = {}
    for message in received:
        copies.setdefault(message.key, []).append(message)
    failures, resent, connections = [], [], set()
    for key, messages in sorted(copies.items()):
        if len(messages) < 2:
            continue
        first, *later = sorted(messages, key=lambda m: m.at)
        window = (len(messages) == 2 and key in in_flight and killed_at is not None
                  and first.at < killed_at < later[0].at and first.peer not in connections)
        if window:
            connections.add(first.peer)
            resent.append(key)
        else:
            failures.append(f"{key} arrived {len(messages)} times" + ("" if key in in_flight else
                                                                      " (its row was not left in sending by the killed worker)"))
    if failures:
        failures = [f"{len(failures)} messages arrived more than once: {failures[:5]}"]
    return failures, resent


def parse_mark(output: str) -> Any:
    for line in output.splitlines():
        if line.startswith(MARK.strip()):
            return json.loads(line[len(MARK.strip()):].strip())
    raise RuntimeError(f"no answer in: {output[-1500:]}")


class Local:
    """Everything as processes on this machine (``make drill``), with production settings."""

    kind = "local processes"

    def __init__(self, args):
        self.var = ROOT / "var" / "drill"
        shutil.rmtree(self.var, ignore_errors=True)
        self.var.mkdir(parents=True)
        base_db = os.environ.get("DATABASE_URL", "")
        if not base_db.startswith("postgres"):
            raise SystemExit("make drill needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL=redis://…")
        parts = urllib.parse.urlsplit(base_db)
        self.db_name = (parts.path.lstrip("/") or "visitdesk") + "_drill"
        self.admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        self.database_url = urllib.parse.urlunsplit(parts._replace(path="/" + self.db_name))
        self.redis_url = os.environ.get("VISITDESK_DRILL_REDIS_URL") or os.environ.get("REDIS_URL", "")
        if not self.redis_url.startswith("redis"):
            raise SystemExit("make drill needs Redis: set REDIS_URL (or VISITDESK_DRILL_REDIS_URL); its database is flushed")
        self.smtp_host, self.smtp_port = "127.0.0.1", free_port()
        self.ports = [free_port(), free_port()]
        self.procs: dict[str, subprocess.Popen] = {}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VISITDESK_", "CELERY_", "EMAIL_"))}
        env.update(DRILL_SETTINGS)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "drill-" + "s" * 50, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0", "SITE_URL": f"http://127.0.0.1:{self.ports[0]}",
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
            "EMAIL_URL": f"smtp://{self.smtp_host}:{self.smtp_port}", "VISITDESK_VAR_DIR": str(self.var / "var"),
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    def prepare(self) -> None:
        import psycopg
        import redis

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        redis.Redis.from_url(self.redis_url).flushdb()
        # No collectstatic: the drill reads the API, feeds and mails, none of which names a static file
        # (compressing every static file for the manifest took minutes on a busy machine).
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env(),
                       check=True, timeout=300)

    def spawn(self, name: str, argv: list[str], **extra: str) -> None:
        log = (self.var / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def start(self) -> list[WebServer]:
        for i, port in enumerate(self.ports, 1):
            self.spawn(f"web-{i}", [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi:application"],
                       VISITDESK_BIND=f"127.0.0.1:{port}")
        for i in (1, 2):
            # Both queues (mail and the like on "celery", calendar rendering on "calendars" where
            # config/celery.py routes it there), so either worker can die without leaving a queue unserved.
            self.spawn(f"worker-{i}", [str(BIN / "celery"), "-A", "config", "worker", "-Q", "celery,calendars",
                                       "--loglevel=INFO", "--concurrency=2", "--without-gossip", "-n", f"drill-worker-{i}@%h"])
        self.start_beat("beat-1")
        servers = [WebServer(f"web-{i}", f"http://127.0.0.1:{port}") for i, port in enumerate(self.ports, 1)]
        for server in servers:
            wait_for(lambda s=server: healthy(s.url), timeout=90, what=f"{server.name} /healthz")
        return servers

    def start_beat(self, name: str) -> None:
        (self.var / name).mkdir(exist_ok=True)
        self.spawn(name, [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
                          "--schedule", str(self.var / name / "celerybeat-schedule")])

    def manage(self, *argv: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=self.env(), capture_output=True,
                                text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"manage.py {argv[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(10)

    def sender_of(self, peer: tuple) -> str | None:
        """Which worker holds the SMTP connection from ``peer`` (its client port), by /proc."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == peer[1]:
                        inodes.add(fields[9])
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
                group = os.getpgid(int(pid))
            except OSError:
                continue
            if any(f"socket:[{inode}]" in links for inode in inodes):
                return next((name for name, proc in self.procs.items() if proc.pid == group), None)
        return None

    def log(self, name: str) -> str:
        return (self.var / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class Compose:
    """The containers ``make compose-up`` started (project ``visitdesk``), driven from this machine."""

    kind = "podman-compose deployment"

    def __init__(self, args):
        self.project = os.environ.get("VISITDESK_COMPOSE_PROJECT", "visitdesk")
        self.env = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", str(ROOT / "deploy/podman/containers.conf")))
        network = json.loads(self.podman("network", "inspect", f"{self.project}_default"))[0]
        # The containers reach this machine as host.containers.internal, the network's gateway: the
        # sink listens there (not on every interface), on the port the env file's EMAIL_URL names.
        self.smtp_host = network["subnets"][0]["gateway"]
        self.smtp_port = args.smtp_port
        self.names = {service: self.compose_names(service) for service in ("web", "worker", "beat")}

    def podman(self, *argv: str, check: bool = True) -> str:
        result = subprocess.run(["podman", *argv], env=self.env, capture_output=True, text=True, timeout=180)
        if check and result.returncode:
            raise RuntimeError(f"podman {' '.join(argv[:3])} failed: {result.stderr[-1500:]}")
        return result.stdout

    def compose_names(self, service: str) -> list[str]:
        out = self.podman("ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}",
                          "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Names}}")
        return sorted(out.split())

    def prepare(self) -> None:
        pass

    def start(self) -> list[WebServer]:
        servers = []
        for name in self.names["web"]:
            address = self.podman("port", name, "8000/tcp").strip()
            servers.append(WebServer(name, f"http://{address}"))
        for server in servers:
            wait_for(lambda s=server: healthy(s.url), timeout=90, what=f"{server.name} /healthz")
        return servers

    def start_beat(self, name: str) -> None:
        clone = f"{self.project}_{name}"
        self.podman("rm", "-f", clone, check=False)
        self.podman("container", "clone", self.names["beat"][0], clone)
        self.podman("start", clone)
        self.names[name] = [clone]

    def manage(self, *argv: str) -> str:
        for name in self.names["worker"][::-1] + self.names["web"]:
            if self.podman("inspect", "-f", "{{.State.Running}}", name, check=False).strip() == "true":
                return self.podman("exec", name, "python", "manage.py", *argv)
        raise RuntimeError("no app container is running")

    def container(self, name: str) -> str:
        if any(name in names for names in self.names.values()):
            return name  # already a container's name (the web servers are named after theirs)
        if name in self.names:  # "beat-2", the clone
            return self.names[name][0]
        service, _, number = name.rpartition("-")
        if service in ("web", "worker", "beat") and number.isdigit():
            return self.names[service][int(number) - 1]
        return self.names[name][0]

    def kill(self, name: str) -> None:
        self.podman("kill", "--signal", "KILL", self.container(name))

    def sender_of(self, peer: tuple) -> str | None:
        """Which worker container has the address the SMTP connection came from."""
        for number, container in enumerate(self.names["worker"], 1):
            addresses = self.podman("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                                    container, check=False).split()
            if peer and peer[0] in addresses:
                return f"worker-{number}"
        return None

    def log(self, name: str) -> str:
        return self.podman("logs", self.container(name), check=False) + self.podman_stderr_logs(name)

    def podman_stderr_logs(self, name: str) -> str:
        result = subprocess.run(["podman", "logs", self.container(name)], env=self.env, capture_output=True, text=True)
        return result.stderr

    def stop(self) -> None:
        if "beat-2" in self.names:
            self.podman("rm", "-f", self.names["beat-2"][0], check=False)


# --- the scenario ---------------------------------------------------------------------------------


@dataclass
class Drill:
    target: Any
    api: Api
    sink: Sink
    started: float = field(default_factory=time.monotonic)
    events: list[str] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    visits: list[dict] = field(default_factory=list)
    standalone: dict[str, int] = field(default_factory=dict)  # title → meeting id
    cancelled: set[int] = field(default_factory=set)
    killed_web: str = ""
    killed_worker: str = ""
    killed_worker_at: float | None = None
    stuck_recovered: int = 0
    in_flight_at_kill: set[str] = field(default_factory=set)  # keys the killed worker left in ``sending``

    def note(self, text: str) -> None:
        line = f"[drill {time.monotonic() - self.started:6.1f} s] {text}"
        self.events.append(line)
        print(line, flush=True)

    # -- drive --------------------------------------------------------------------------------

    def create_people(self, count: int) -> None:
        run = uuid.uuid4().hex[:6]

        def one(i: int) -> int:
            return self.api.call("POST", "/api/v1/people/", {
                "name": f"{DRILL_PREFIX} Host {i:03d}", "email": f"host{i:03d}.{run}@centre.example.org",
                "language": "en" if i % 3 else "de",
            })["id"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            self.people = list(pool.map(one, range(count)))
        self.note(f"{count} people created")

    def create_visits(self, count: int) -> None:
        first = date.today() + timedelta(days=30)
        while first.weekday() >= 4:  # a Monday–Thursday, so a one-day visit is not moved over a weekend
            first += timedelta(days=1)
        for v in range(count):
            run = uuid.uuid4().hex[:6]
            request = {
                "organisation": {"name": f"{DRILL_PREFIX} Cluster {v}", "country": "DE"},
                "contact": {"name": f"Requester {v}", "email": f"requester{v}.{run}@cluster.example.org", "language": "en"},
                "delegation": {"name": f"{DRILL_PREFIX} delegation {v}", "size": 3, "members": [
                    {"name": f"Member {v}a", "email": f"member{v}a.{run}@cluster.example.org"},
                    {"name": f"Member {v}b", "email": f"member{v}b.{run}@cluster.example.org"},
                ]},
                "preferred_windows": [{"start": first.isoformat(), "end": (first + timedelta(days=6)).isoformat()}],
                "duration": "one_day",
            }
            created = self.api.call("POST", "/api/v1/visit-requests/", request, key=f"drill-visit-{run}", auth=False)
            visit = next(v for v in self.api.all_pages("/api/v1/visits/?status=requested")
                         if v["reference"] == created["reference"])
            visit = self.api.call("POST", f"/api/v1/visits/{visit['id']}/confirm/", {})
            guests = [m["id"] for m in visit["delegation"]["members"] if m["id"] != visit["contact"]["id"]]
            day = date.fromisoformat(visit["starts_on"])
            meetings = []
            for slot, (hour, length) in enumerate([(10, 60), (11, 45), (14, 60)]):
                starts = datetime(day.year, day.month, day.day, hour, 0, tzinfo=BERLIN)
                hosts = [self.people[(3 * v + slot) % len(self.people)]]
                meeting = self.api.call("POST", "/api/v1/meetings/", {
                    "title": f"{DRILL_PREFIX} visit {v} session {slot}", "visit": visit["id"],
                    "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=length)).isoformat(),
                    "timezone": "Europe/Berlin", "override_availability": True,
                    "participants": [{"person": p, "role": "host"} for p in hosts]
                                    + [{"person": p, "role": "guest"} for p in guests],
                }, key=f"drill-visit-{run}-{slot}")
                meetings.append(meeting["id"])
            self.api.call("POST", f"/api/v1/visits/{visit['id']}/send-programme/", {})
            self.visits.append({"id": visit["id"], "meetings": meetings, "feed": visit["calendar_url"]})
        self.note(f"{count} visits requested, confirmed, given 3 meetings each, programme sent")

    def book(self, count: int, *, kill_web_after: int) -> None:
        """Meetings that start in an hour and a bit, so their 60-minute reminders fall due now."""
        base = datetime.now(UTC) + timedelta(minutes=60, seconds=50)
        jobs = []
        for i in range(count):
            # They all overlap, and nobody may be in two meetings at once: people of their own each.
            starts = base + timedelta(seconds=2 * i)
            people = self.people[PER_MEETING * i:PER_MEETING * (i + 1)]
            jobs.append((f"{DRILL_PREFIX} meeting {i:02d} {uuid.uuid4().hex[:4]}", starts, people))
        done = threading.Semaphore(0)

        def one(job):
            title, starts, people = job
            meeting = self.api.call("POST", "/api/v1/meetings/", {
                "title": title, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=30)).isoformat(),
                "timezone": "Europe/Berlin", "override_availability": True,
                "participants": [{"person": p, "role": "host"} for p in people],
            }, key=f"drill-meeting-{uuid.uuid5(uuid.NAMESPACE_URL, title)}")
            self.standalone[title] = meeting["id"]
            done.release()

        def killer():
            for _ in range(kill_web_after):
                done.acquire()
            victim = self.api.servers[-1]
            self.target.kill(victim.name)
            self.killed_web = victim.name
            self.note(f"SIGKILL {victim.name} after {kill_web_after} bookings, with bookings in flight")

        kill_thread = threading.Thread(target=killer, daemon=True)
        kill_thread.start()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(one, jobs))
        kill_thread.join(30)
        self.note(f"{count} meetings booked ({self.api.retried} requests retried on the other server)")

    def change(self, moves: int, cancels: int) -> None:
        ids = list(self.standalone.values())
        for meeting_id in ids[:moves]:
            meeting = self.api.call("GET", f"/api/v1/meetings/{meeting_id}/")
            starts = datetime.fromisoformat(meeting["starts_at"]) + timedelta(minutes=1)
            self.api.call("POST", f"/api/v1/meetings/{meeting_id}/reschedule/", {
                "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=30)).isoformat(),
                "override_availability": True,
            })
        for meeting_id in ids[moves:moves + cancels]:
            self.api.call("POST", f"/api/v1/meetings/{meeting_id}/cancel/", {})
            self.cancelled.add(meeting_id)
        for visit in self.visits:
            meeting_id = visit["meetings"][-1]
            meeting = self.api.call("GET", f"/api/v1/meetings/{meeting_id}/")
            starts = datetime.fromisoformat(meeting["starts_at"]) + timedelta(minutes=30)
            self.api.call("POST", f"/api/v1/meetings/{meeting_id}/reschedule/", {
                "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=60)).isoformat(),
                "override_availability": True,
            })
        self.note(f"programme changes: {moves} meetings moved, {cancels} cancelled, one meeting per visit moved")

    def kill_worker_at_first_reminder(self) -> threading.Thread:
        """SIGKILL the worker that is sending the reminders, while it sends them."""
        def run():
            if self.sink.first_reminder.wait(240):
                victim = self.target.sender_of(self.sink.first_reminder_peer) or "worker-1"
                self.target.kill(victim)
                self.killed_worker_at = time.monotonic()
                self.killed_worker = victim
                self.note(f"SIGKILL {victim}, the worker sending the reminders, as the first one arrived")

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    # -- settle -------------------------------------------------------------------------------

    def outbox(self) -> list[dict]:
        return parse_mark(self.target.manage("shell", "-c", OUTBOX_STATE))

    def settle(self, *, timeout: float, killed_at: list[float]) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.outbox()
            due = [r for r in rows if r["soon"] and r["state"] in ("pending", "sending")]
            sending = [r for r in rows if r["state"] == "sending"]
            reminders_owed = self.expected_reminders()
            reminders_sent = {(r["meeting_id"], r["person_id"]) for r in rows if r["kind"] == "reminder" and r["state"] == "sent"}
            sent_keys = {r["key"] for r in rows if r["state"] == "sent"}
            arrived = {m.key for m in self.sink.snapshot()}
            if not due and reminders_owed <= reminders_sent and sent_keys <= arrived:
                return rows
            if sending and killed_at and time.monotonic() - killed_at[0] > 60:
                # The killed worker's rows: beat's sweeper would return them after 10 minutes.
                answer = parse_mark(self.target.manage("shell", "-c", RECOVER.format(seconds=60)))
                recovered = answer["recovered"]
                self.in_flight_at_kill.update(answer["keys"])
                if recovered:
                    self.stuck_recovered += recovered
                    self.note(f"{recovered} outbox rows the killed worker left in 'sending' returned to pending")
            if time.monotonic() > deadline:
                raise RuntimeError(f"outbox not settled: {len(due)} due, {len(sending)} sending, "
                                   f"{len(reminders_owed - reminders_sent)} reminders missing")
            time.sleep(3)

    def expected_reminders(self) -> set[tuple[int, int]]:
        if not hasattr(self, "_meetings"):
            return set()
        return {(m["id"], p["person"]) for m in self._meetings.values()
                if m["status"] == "scheduled" for p in m["participants"]}

    def load_meetings(self) -> None:
        self._meetings = {mid: self.api.call("GET", f"/api/v1/meetings/{mid}/") for mid in self.standalone.values()}

    # -- checks -------------------------------------------------------------------------------

    def check(self, rows: list[dict]) -> tuple[list[str], dict[str, int]]:
        failures: list[str] = []
        received = self.sink.snapshot()
        counts = Counter(m.key for m in received)
        missing_key = [m for m in received if not m.key]
        sent = {r["key"]: r for r in rows if r["state"] == "sent"}
        failed = [r for r in rows if r["state"] == "failed"]
        due_left = [r for r in rows if r["due"] and r["state"] in ("pending", "sending")]
        doubled, resent = resend_verdict(received, in_flight=self.in_flight_at_kill, killed_at=self.killed_worker_at)
        failures += doubled
        if missing_key:
            failures.append(f"{len(missing_key)} messages without X-Visitdesk-Key")
        not_arrived = set(sent) - set(counts)
        if not_arrived:
            failures.append(f"{len(not_arrived)} rows marked sent never arrived: {sorted(not_arrived)[:5]}")
        unknown = set(counts) - set(sent)
        if unknown:
            failures.append(f"{len(unknown)} arrived messages are not 'sent' in the outbox: {sorted(unknown)[:5]}")
        if failed:
            failures.append(f"{len(failed)} outbox rows failed: {[(r['key'], r['last_error'][:120]) for r in failed[:5]]}")
        if due_left:
            failures.append(f"{len(due_left)} due rows left unsent")

        # Reminders: one per participant of every scheduled standalone meeting, none for cancelled ones.
        self.load_meetings()
        reminders = Counter((r["meeting_id"], r["person_id"]) for r in sent.values() if r["kind"] == "reminder")
        expected = self.expected_reminders()
        if set(reminders) != expected or any(n != 1 for n in reminders.values()):
            failures.append(f"reminders: {len(expected)} expected, {sum(reminders.values())} sent, "
                            f"missing {sorted(expected - set(reminders))[:5]}, extra {sorted(set(reminders) - expected)[:5]}")

        # Every participant's last invitation (or cancellation) carries the meeting's current SEQUENCE.
        last_imip: dict[tuple[str, str], Received] = {}
        for message in sorted(received, key=lambda m: m.at):
            if message.kind == "imip":
                for uid, _seq, _status, _url in calendar_events(message.message):
                    last_imip[(uid, message.rcpt)] = message
        stale = []
        links: dict[int, str] = {}
        for meeting in self._meetings.values():
            for participant in meeting["participants"]:
                rcpt = participant.get("email") or ""
                found = [m for (uid, to), m in last_imip.items() if uid == meeting["uid"] and (not rcpt or to == rcpt)]
                if not found:
                    if meeting["status"] != "cancelled":  # cancelled before its invitation was due: none is right
                        stale.append((meeting["id"], participant["person"], "no invitation"))
                    continue
                for message in found:
                    for uid, seq, _status, url in calendar_events(message.message):
                        if uid == meeting["uid"]:
                            if seq != meeting["sequence"]:
                                stale.append((meeting["id"], participant["person"], f"SEQUENCE {seq} ≠ {meeting['sequence']}"))
                            if url:
                                links.setdefault(meeting["id"], url)
        if stale:
            failures.append(f"{len(stale)} participants' last invitation is not the meeting's current version: {stale[:5]}")

        # Duplicate bookings from retried requests.
        titles = Counter(m["title"] for m in self.api.all_pages("/api/v1/meetings/?starts_after="
                                                                + urllib.parse.quote(datetime.now(UTC).isoformat()))
                         if m["title"].startswith(f"{DRILL_PREFIX} meeting"))
        doubled = {t: n for t, n in titles.items() if n > 1}
        if doubled or len(titles) != len(self.standalone):
            failures.append(f"bookings: {len(titles)} drill meetings for {len(self.standalone)} requests, doubled {doubled}")

        feed_checks, feed_failures = self.check_feeds(links)
        failures += feed_failures
        figures = {
            "mails_received": len(received), "distinct_keys": len(counts), "duplicates": sum(n - 1 for n in counts.values()),
            "outbox_sent": len(sent), "outbox_failed": len(failed),
            "reminders": sum(reminders.values()), "invites_and_updates": sum(1 for m in received if m.kind == "imip"),
            "programme_mails": sum(1 for m in received if m.kind == "programme"),
            "feed_checks": feed_checks, "meetings": len(self.standalone) + 3 * len(self.visits),
            "stuck_rows_recovered": self.stuck_recovered,
            "resent_after_kill": resent,
        }
        return failures, figures

    def check_feeds(self, links: dict[int, str]) -> tuple[int, list[str]]:
        """Every visit feed and every meeting's signed link, from each web server still up."""
        failures, checks = [], 0
        truth = {m["uid"]: m for m in self._meetings.values()}
        for visit in self.visits:
            for mid in visit["meetings"]:
                meeting = self.api.call("GET", f"/api/v1/meetings/{mid}/")
                truth[meeting["uid"]] = meeting
        live = [s for s in self.api.servers if s.alive and healthy(s.url)]
        for server in live:
            for visit in self.visits:
                path = urllib.parse.urlsplit(visit["feed"]).path
                expected = {truth_uid: m for truth_uid, m in truth.items() if m["id"] in visit["meetings"]}
                checks += 1
                failures += compare_feed(self.api, server, path, expected, f"visit {visit['id']} feed")
            for mid, url in sorted(links.items()):
                meeting = self._meetings[mid]
                checks += 1
                failures += compare_feed(self.api, server, urllib.parse.urlsplit(url).path, {meeting["uid"]: meeting},
                                         f"meeting {mid} link", allow_absent_cancelled=False)
        return checks, failures


def calendar_events(message: email.message.EmailMessage) -> list[tuple[str, int, str, str]]:
    """(UID, SEQUENCE, STATUS, URL) of every VEVENT in a mail's text/calendar parts."""
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            for event in cal.walk("VEVENT"):
                found.append((str(event["UID"]), int(event.get("SEQUENCE", 0)), str(event.get("STATUS", "")),
                              str(event.get("URL", ""))))
    return found


def compare_feed(api: Api, server: WebServer, path: str, expected: dict[str, dict], what: str, *,
                 allow_absent_cancelled: bool = True) -> list[str]:
    status, body, _ = api.raw(server, "GET", path, auth=False, headers={"Accept": "text/calendar"})
    if status != 200:
        return [f"{what} on {server.name}: HTTP {status}"]
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    return feed_differences(events, expected, f"{what} on {server.name}", allow_absent_cancelled=allow_absent_cancelled)


def feed_differences(events: dict[str, Any], expected: dict[str, dict], what: str, *,
                     allow_absent_cancelled: bool = True) -> list[str]:
    """What a feed gets wrong against the API's meetings: missing, extra, SEQUENCE or STATUS differing."""
    problems = []
    for uid, meeting in expected.items():
        event = events.get(uid)
        if event is None:
            if not (meeting["status"] == "cancelled" and allow_absent_cancelled):
                problems.append(f"{what}: meeting {meeting['id']} missing")
            continue
        if int(event.get("SEQUENCE", 0)) != meeting["sequence"]:
            problems.append(f"{what}: meeting {meeting['id']} SEQUENCE {event.get('SEQUENCE')} ≠ {meeting['sequence']}")
        want_status = "CANCELLED" if meeting["status"] == "cancelled" else "CONFIRMED"
        if str(event.get("STATUS", "CONFIRMED")) != want_status:
            problems.append(f"{what}: meeting {meeting['id']} STATUS {event.get('STATUS')} ≠ {want_status}")
    extra = set(events) - set(expected)
    if extra:
        problems.append(f"{what}: {len(extra)} events that should not be there")
    return problems


def beat_ticks(log: str) -> int:
    return len(re.findall(r"Sending due task dispatch-outbox", log))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compose", action="store_true", help="drill the podman-compose deployment (make compose-up)")
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("VISITDESK_DRILL_SMTP_PORT", "2525")),
                        help="compose: the sink's port, as EMAIL_URL in the env file names it")
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--meetings", type=int, default=24)
    parser.add_argument("--timeout", type=int, default=420, help="the whole drill's limit in seconds")
    args = parser.parse_args(argv)

    started = time.monotonic()
    target = Compose(args) if args.compose else Local(args)
    print(f"[drill] target: {target.kind}", flush=True)
    # A hard limit: whatever hangs, the drill ends (and fails) by then.
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"drill exceeded {args.timeout} s")))
    signal.alarm(args.timeout)
    sink, controller = start_sink(target.smtp_host, target.smtp_port)
    failures: list[str] = []
    figures: dict[str, Any] = {}
    try:
        target.prepare()
        if isinstance(target, Local):
            print(f"[drill {time.monotonic() - started:6.1f} s] prepared (a fresh database, migrated)", flush=True)
        servers = target.start()
        drill = Drill(target=target, api=Api(servers), sink=sink, started=started)
        drill.note(f"up: {', '.join(s.name + ' ' + s.url for s in servers)}, 2 workers, beat; SMTP sink "
                   f"{target.smtp_host}:{target.smtp_port}")
        drill.api.token = parse_mark(target.manage("shell", "-c", MAKE_COORDINATOR))
        target.start_beat("beat-2")
        second_beat_at = time.monotonic()
        drill.note("a second beat started by mistake (it stays up until the end)")
        killed_at: list[float] = []
        watcher = drill.kill_worker_at_first_reminder()

        drill.create_people(PER_MEETING * args.meetings)
        drill.create_visits(args.visits)
        drill.book(args.meetings, kill_web_after=args.meetings // 2)
        drill.change(moves=8, cancels=3)
        drill.load_meetings()
        watcher.join(240)
        if drill.killed_worker:
            killed_at.append(time.monotonic())
        else:
            failures.append("no reminder arrived: the worker was not killed")
        # The second beat must have ticked at least once to show anything: one minute after its start.
        wait_for(lambda: time.monotonic() - second_beat_at > 65, timeout=90, what="the second beat's first tick")
        rows = drill.settle(timeout=200, killed_at=killed_at)
        drill.note("outbox settled: nothing due is left")
        found, figures = drill.check(rows)
        failures += found
        ticks = {name: beat_ticks(target.log(name)) for name in ("beat-1", "beat-2")}
        figures["beat_ticks"] = ticks
        if ticks["beat-2"] < 1:
            failures.append(f"the second beat sent no dispatch tick ({ticks}): the drill proved nothing about it")
        figures["requests_served"] = {s.name: s.served for s in drill.api.servers}
        figures["requests_cut_by_kill"] = sum(s.cut for s in drill.api.servers)
        figures["retries_waiting_for_a_dead_claim"] = drill.api.waited_in_progress
        if any(s.served == 0 for s in drill.api.servers):
            failures.append(f"a web server served nothing: {figures['requests_served']}")
    except Exception as error:
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        signal.alarm(0)
        controller.stop()
        target.stop()
    figures["seconds"] = round(time.monotonic() - started, 1)
    print("\n[drill] figures: " + json.dumps(figures))
    print(f"[drill] mails sent {figures.get('mails_received', '?')} ({figures.get('reminders', '?')} reminders, "
          f"{figures.get('invites_and_updates', '?')} invitations/updates/cancellations, "
          f"{figures.get('programme_mails', '?')} programme mails), duplicates {figures.get('duplicates', '?')}, "
          f"feed checks {figures.get('feed_checks', '?')}, second beat's ticks {figures.get('beat_ticks', {}).get('beat-2', '?')}, "
          f"{figures['seconds']} s")
    if failures:
        print("[drill] FAILED:")
        for failure in failures:
            print("  - " + failure)
        if isinstance(target, Local):
            print(f"  (process logs: {target.var})")
        return 1
    resent = figures.get("resent_after_kill") or []
    if resent:
        print(f"[drill] passed: every mail once, every feed consistent — except {len(resent)} the killed worker had "
              f"handed to the server and not yet marked sent, re-sent after recovery (the window of one message per "
              f"worker process, notifications.dispatch): {resent}")
    else:
        print("[drill] passed: every mail exactly once, every feed consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
