"""The web server as deployed: gunicorn with ``config/gunicorn.conf.py`` and production settings.

``gunicorn_server(**env)`` starts ``gunicorn -c config/gunicorn.conf.py config.wsgi:application`` as a
subprocess on a free port — ``DJANGO_DEBUG=0``, a real secret key, manifest static files (collected
once per session), no ``VISITDESK_TESTING`` — against the *test* database (``test_<name>``) and the
suite's Redis, with extra environment (e.g. short database timeouts) per test. It needs PostgreSQL
and Redis; tests using it carry ``needs_services`` and skip on the embedded defaults.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.conftest import fast_passwords, world  # noqa: F401  (fixtures shared with these tests)
from tests.integration.conftest import free_port, needs_services, wait_for, worker_database_url  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VISITDESK_", "WEB_CONCURRENCY"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "deploy-test-" + "k" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP to 127.0.0.1; TLS is the proxy's job
        "VISITDESK_VAR_DIR": str(var_dir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = worker_database_url()
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def production_var_dir(tmp_path_factory) -> Path:
    """A var folder with the collected (manifest) static files production settings serve."""
    var_dir = tmp_path_factory.mktemp("production-var")
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT,
                            env=_production_env(var_dir), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return var_dir


@pytest.fixture
def gunicorn_server(production_var_dir, tmp_path):
    started: list[Server] = []

    def start(**extra_env: str) -> Server:
        port = free_port()
        log = tmp_path / f"gunicorn-{len(started)}.log"
        env = _production_env(production_var_dir, VISITDESK_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
                              SITE_URL=f"http://127.0.0.1:{port}", **extra_env)
        with log.open("ab") as out:
            proc = subprocess.Popen([GUNICORN, "-c", "config/gunicorn.conf.py", "config.wsgi:application"], cwd=ROOT,
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        server = Server(url=f"http://127.0.0.1:{port}", proc=proc, log=log)
        started.append(server)

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError("gunicorn died:\n" + server.log_text())
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(healthy, timeout=60, what="gunicorn to answer /healthz")
        return server

    yield start
    for server in started:
        server.stop()
