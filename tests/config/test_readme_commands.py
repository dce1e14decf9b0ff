"""The first hour of a newcomer: the README's commands, as printed, in a fresh shell.

- every shell command in the README's code blocks is known here and run (``make run`` through the
  Makefile and honcho exactly as printed; the rest after ``make run``'s own preparation step);
- ``make run`` hands the web process port 8000 (honcho's own default would be 5000);
- without ``DJANGO_DEBUG`` the embedded-defaults set-up is development, so ``manage.py`` commands
  work as under ``make run``, while a public ``SITE_URL`` / ``DJANGO_ALLOWED_HOSTS`` or
  ``DJANGO_DEBUG=0`` still refuses to start without a secret key;
- beat creates the var folder for its schedule file; runserver keeps no connection per thread.

CI's ``.ci/smoke-run`` adds the one thing a test inside the suite cannot: ``make run`` with no
variable at all, on port 8000, in a fresh copy of the checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from config.env import development_mode
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    """Every command line in the README's ``sh`` code blocks, comments stripped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def fresh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A new shell's environment: PATH and HOME only (plus a private var folder for isolation)."""
    env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env["VISITDESK_VAR_DIR"] = str(tmp_path / "var")
    env.update(extra)
    return env


def shell(command: str, env: dict, *, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_readme_lists_the_commands_this_file_runs():
    assert readme_commands() == [
        "make run",
        "make test",
        ".venv/bin/python manage.py drf_create_token coordinator",
        'curl -H "Authorization: Token <key>" http://127.0.0.1:8000/api/v1/me/',
        "apt-get install -y podman podman-compose runc debootstrap",
        "cp .env.example .env",
        "make compose-up",
        "make compose-down",
    ], "a README command changed: teach tests/config/test_readme_commands.py to run it"


def test_the_production_commands_are_what_ci_runs():
    """The README's "Production" block is run by CI, not here (it builds images with podman): ``make
    drill-compose`` in ``.ci/run`` calls the same ``deploy/podman/compose.sh up`` / ``down`` that
    ``make compose-up`` / ``compose-down`` call, with the packages the README installs."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^compose-up:.*\n\t.*deploy/podman/compose\.sh up$", makefile, re.M)
    assert re.search(r"^compose-down:.*\n\t.*deploy/podman/compose\.sh down$", makefile, re.M)
    drill = (ROOT / "deploy" / "podman" / "drill-compose.sh").read_text()
    assert "deploy/podman/compose.sh up" in drill and "deploy/podman/compose.sh down" in drill
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\S*.*make drill-compose$", ci, re.M)
    for package in ("podman", "podman-compose", "runc", "debootstrap"):
        assert re.search(rf"\b{package}\b", ci.split("APT_PACKAGES=(", 1)[1].split(")", 1)[0])


def test_make_run_gives_the_web_process_port_8000_without_any_variable(tmp_path):
    """``make -n run`` shows the honcho line; honcho then starts a Procfile's first process on 8000."""
    printed = shell("make -n run", fresh_env(tmp_path)).stdout
    honcho_line = next(line for line in printed.splitlines() if "honcho start" in line)
    procfile = tmp_path / "Procfile"
    procfile.write_text('web: echo "web PORT=$PORT"\nworker: echo "worker PORT=$PORT"\n')
    honcho_line = honcho_line.replace("-f Procfile", f"-f {procfile} -d {tmp_path}")
    out = shell(honcho_line, fresh_env(tmp_path), timeout=60)
    assert "web PORT=8000" in out.stdout, out.stdout + out.stderr
    # The links in pages, mails and feeds point where the server listens.
    assert "SITE_URL" not in printed or "127.0.0.1:8000" in printed
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "${PORT:-8000}" in web


def test_smoke_check_runs_the_readme_line_with_no_variable():
    script = (ROOT / ".ci" / "smoke-run").read_text()
    assert "PORT=" not in script.replace("PORT=$", "")  # no PORT handed to make run
    assert "env -C \"$clone\" -i" in script and "grep -m1 -E '^make run( |$)'" in script
    assert "http://127.0.0.1:8000" in script


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, True),
        ({"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://r"}, True),
        ({"SITE_URL": "http://localhost:9000", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}, True),
        ({"DJANGO_DEBUG": "0"}, False),
        ({"DJANGO_DEBUG": "1", "SITE_URL": "https://visitdesk.example.org"}, True),
        ({"SITE_URL": "https://visitdesk.example.org"}, False),
        ({"DJANGO_ALLOWED_HOSTS": "visitdesk.example.org"}, False),
        ({"DJANGO_ALLOWED_HOSTS": "127.0.0.1,visitdesk.example.org"}, False),
    ],
)
def test_development_mode_is_a_local_only_site_unless_told(environ, expected):
    assert development_mode(environ) is expected


def test_production_still_refuses_to_start_without_a_secret_key(tmp_path):
    for extra in ({"DJANGO_DEBUG": "0"}, {"SITE_URL": "https://visitdesk.example.org",
                                           "DATABASE_URL": "postgres://visitdesk@db.example.org/visitdesk"}):
        result = shell(".venv/bin/python manage.py check", fresh_env(tmp_path, **extra))
        assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr, extra


def test_every_readme_command_works_in_a_fresh_shell_after_make_run(tmp_path):
    """``make demo`` is what ``make run`` does before serving; then each README line, as printed."""
    env = fresh_env(tmp_path)
    prepared = shell("make demo", env, timeout=600)
    assert prepared.returncode == 0, prepared.stdout[-3000:] + prepared.stderr[-3000:]
    assert "make run" in README and "make test" in (ROOT / "Makefile").read_text()

    commands = readme_commands()
    token_line = next(c for c in commands if "drf_create_token" in c)
    created = shell(token_line, env)
    assert created.returncode == 0, created.stderr
    key = re.search(r"Generated token (\w+)", created.stdout).group(1)

    # The curl line against a server started the way the Procfile starts it (a free port, not 8000).
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        curl_line = next(c for c in commands if c.startswith("curl "))
        curl_line = curl_line.replace("<key>", key).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        answered = shell(curl_line + " -sS", env, timeout=60)
        assert answered.returncode == 0, answered.stderr
        assert '"is_coordinator":true' in answered.stdout, answered.stdout
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_beat_creates_the_var_folder_for_its_schedule(tmp_path):
    """With PostgreSQL and Redis configured nothing else creates var/; beat must not die on it."""
    var_dir = tmp_path / "not-yet" / "var"
    env = fresh_env(
        tmp_path,
        VISITDESK_VAR_DIR=str(var_dir),
        DATABASE_URL=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/unused",
        REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
    )
    beat = subprocess.Popen(
        [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        for _ in range(150):
            if list(var_dir.glob("celerybeat-schedule*")) or beat.poll() is not None:
                break
            time.sleep(0.2)
        assert beat.poll() is None, beat.stdout.read()[-3000:]
        assert list(var_dir.glob("celerybeat-schedule*"))
    finally:
        beat.terminate()
        beat.wait(timeout=20)


def test_runserver_keeps_no_persistent_connections(tmp_path):
    probe = (
        "import os, sys; sys.argv = ['manage.py', '{cmd}']; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; import django; django.setup(); "
        "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    )
    env = fresh_env(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused")
    run = lambda cmd: subprocess.run(  # noqa: E731
        [str(BIN / "python"), "-c", probe.format(cmd=cmd)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout.strip()
    assert run("runserver") == "0"
    assert run("migrate") == "60"  # gunicorn, workers and commands keep theirs
