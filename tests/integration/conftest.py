"""Real services for the notification integration tests: a Celery worker process, Redis, an SMTP server.

- SMTP: an aiosmtpd ``Controller`` on 127.0.0.1 (free port) that keeps every message as received
  and can be slowed down (``delay``) to widen the window for crash tests.
- Worker: ``celery -A config worker`` as a subprocess in its own process group (so the test can
  ``kill -9`` it and all its children), pointed at the *test* database (``test_<name>``), the same
  Redis and the SMTP server through environment variables, exactly as production configures it.
  Each test session uses its own queue name, so parallel test processes never consume each
  other's tasks.
- Redis restarts: a private ``redis-server`` on a free port (other engineers share 6379).
- IMAP: a private Dovecot (Debian's ``dovecot-imapd``) on a free port with its own config: plain IMAP
  on 127.0.0.1, one static user, maildirs under a temporary folder — the organiser mailbox.

They need PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``); without those env vars they skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email
import email.policy
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
HAVE_SERVICES = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))
needs_services = pytest.mark.skipif(not HAVE_SERVICES, reason="needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- shared state --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _own_cache_key_space(settings):
    """Each integration test starts with an empty cache of its own (a fresh key prefix).

    Throttle histories live in the cache per client address, and the test client is always
    127.0.0.1: tests/api, run earlier in the same process with generous rates, used to leave this
    address past the production rate of the public request form, so a flow here got 429 instead of
    201 — or not, depending on which tests the xdist worker had run before.
    """
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"integration-{uuid.uuid4().hex}"
    settings.CACHES = caches


# --- SMTP --------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        if "_message" not in self.__dict__:
            self.__dict__["_message"] = email.message_from_bytes(self.data, policy=email.policy.default)
        return self.__dict__["_message"]

    @property
    def key(self) -> str:
        return str(self.message["X-Visitdesk-Key"])


@dataclass
class MailSink:
    """aiosmtpd handler: stores what it accepted; ``delay`` seconds before answering each DATA."""

    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def sent_keys(self) -> list[str]:
        return [r.key for r in self.snapshot()]


@pytest.fixture
def smtp_server():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # one INFO line per SMTP command otherwise
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


# --- Redis -------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=15, what="redis-server")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (CI installs it; see .ci)")
    redis = PrivateRedis(port=free_port(), workdir=tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# --- IMAP (Dovecot) ----------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


@dataclass
class PrivateImap:
    """A Dovecot of our own: ``append`` delivers a message into the organiser mailbox as an MTA would."""

    port: int
    workdir: Path
    user: str = "visits@host.example.org"
    password: str = "imap-test-secret"
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"imap://{quote(self.user)}:{quote(self.password)}@127.0.0.1:{self.port}/INBOX?tls=none"

    def start(self) -> None:
        # Dovecot refuses root as the mail user: as root the mail belongs to nobody.
        root = os.getuid() == 0
        uid, gid = (65534, 65534) if root else (os.getuid(), os.getgid())
        for sub in ("mail", "home", "run", "state"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
            if root:
                os.chown(self.workdir / sub, uid, gid)
        users = ""
        if not root:
            import pwd

            me = pwd.getpwuid(os.getuid()).pw_name
            users = f"default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {me}\n"
        w = self.workdir
        (w / "dovecot.conf").write_text(f"""protocols = imap
listen = 127.0.0.1
base_dir = {w}/run
state_dir = {w}/state
log_path = {w}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{w}/mail/%u
{users}namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={w}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
""")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(w / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._listening, timeout=20, what="dovecot")

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def box(self):
        from imap_tools import MailBoxUnencrypted

        return MailBoxUnencrypted("127.0.0.1", self.port).login(self.user, self.password)

    def append(self, *messages: bytes) -> None:
        with self.box() as box:
            for raw in messages:
                box.append(raw, "INBOX")

    def count(self, folder: str = "INBOX") -> int:
        with self.box() as box:
            if not box.folder.exists(folder):
                return 0
            return box.folder.status(folder, ["MESSAGES"])["MESSAGES"]

    def unseen(self, folder: str = "INBOX") -> int:
        with self.box() as box:
            return box.folder.status(folder, ["UNSEEN"])["UNSEEN"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def private_imap():
    if DOVECOT is None:
        pytest.fail("dovecot is not installed (CI installs dovecot-imapd; see .ci/run)")
    workdir = Path(tempfile.mkdtemp(prefix="vd-imap-"))  # not under pytest's 0700 tmp: the mail user reads it
    workdir.chmod(0o755)
    imap = PrivateImap(port=free_port(), workdir=workdir)
    imap.start()
    try:
        yield imap
    finally:
        imap.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- Celery worker -----------------------------------------------------------------------------


def worker_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Worker:
    env: dict[str, str]
    queue: str
    log: Path
    concurrency: int = 2
    #: Worker options; the Redis outage tests use production's (docker-compose: only --without-gossip),
    #: since heartbeats and events are what broke on a Redis restart.
    flags: tuple[str, ...] = ("--without-gossip", "--without-mingle", "--without-heartbeat")
    proc: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        name = f"vdtest-{self.queue}-{self.starts}@%h"
        with self.log.open("ab") as log:
            log.write(f"\n=== start {self.starts} ===\n".encode())
        self.proc = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "--loglevel=INFO", f"--concurrency={self.concurrency}",
             *self.flags, "-Q", self.queue, "-n", name],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: self.log.read_text(errors="replace").count(" ready.") >= self.starts or self._died(),
                 timeout=60, what="the celery worker to be ready")
        if self._died():
            raise AssertionError("worker died:\n" + self.log.read_text(errors="replace")[-4000:])

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def kill9(self) -> None:
        """SIGKILL to the whole process group: the main process and every pool child, no cleanup."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@contextlib.contextmanager
def private_task_queue(*app_labels: str):
    """Route ``<app_label>.*`` tasks (of each label given) to a queue of their own, in this process and in the
    worker started on it.

    Parallel test processes share one Redis: without a private queue one session's worker would take
    (and run against the wrong database) the tasks another session sends.
    """
    from config.celery import app

    queue = f"vd-{app_labels[0][:5]}-{uuid.uuid4().hex[:10]}"
    saved = app.conf.task_routes
    app.conf.task_routes = {f"{label}.*": {"queue": queue} for label in app_labels}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)
    try:
        yield queue
    finally:
        app.conf.task_routes = saved
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)


@pytest.fixture
def celery_queue(settings):
    """Route this session's tasks to a private queue, in this process and in the worker."""
    from config.celery import app

    with private_task_queue("notifications") as queue:
        assert app.amqp.router.route({}, "notifications.dispatch_due")["queue"].name == queue
        yield queue


@pytest.fixture
def make_worker(tmp_path, celery_queue, smtp_server):
    """Build (not start) workers wired to the test database, Redis and the SMTP server."""
    created: list[Worker] = []

    def make(*, redis_url: str | None = None, concurrency: int = 2, flags: tuple[str, ...] | None = None,
             **extra_env) -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VISITDESK_TESTING": "1",
            "DATABASE_URL": worker_database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": redis_url or os.environ["REDIS_URL"],
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_server.port),
            "EMAIL_TIMEOUT": "10",
            "VISITDESK_NOTIFY_SETTLE_SECONDS": "0",
            "VISITDESK_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("EMAIL_URL", None)
        env.update({k: str(v) for k, v in extra_env.items()})
        worker = Worker(env=env, queue=celery_queue, log=tmp_path / f"worker-{len(created)}.log",
                        concurrency=concurrency)
        if flags is not None:
            worker.flags = flags
        created.append(worker)
        return worker

    yield make
    for worker in created:
        worker.stop()


def enqueue_dispatch(times: int = 1) -> None:
    """What beat does every minute."""
    from notifications.tasks import dispatch_due

    for _ in range(times):
        dispatch_due.apply_async()


def enqueue_recover(older_than_seconds: int) -> None:
    from notifications.tasks import recover_stuck

    recover_stuck.apply_async(kwargs={"older_than_seconds": older_than_seconds})
