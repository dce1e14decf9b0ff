"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it.

Every command it runs must exist in the image: executables are installed by pyproject's
dependencies, Django management commands exist, import paths (WSGI app, Celery app) import.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = [name for name, svc in COMPOSE["services"].items() if svc.get("build") or svc.get("image") == "visitdesk:latest"]
VENV_BIN = Path(sys.executable).parent


def _command(service: dict) -> list[str]:
    command = service.get("command")
    assert isinstance(command, list), "use exec-form commands so no shell is needed"
    return command


def test_app_services_share_one_image_through_the_anchor():
    assert set(APP_SERVICES) >= {"web", "worker", "beat", "migrate"}
    images = {COMPOSE["services"][name]["image"] for name in APP_SERVICES}
    assert images == {"visitdesk:latest"}
    assert all(COMPOSE["services"][name]["build"] == "." for name in APP_SERVICES)


def test_exactly_one_beat_and_several_web_and_workers():
    services = COMPOSE["services"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("name", ["web", "worker", "postgres", "redis", "mailpit"])
def test_long_running_services_have_health_checks(name):
    assert COMPOSE["services"][name]["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_every_command_exists(name):
    command = _command(COMPOSE["services"][name])
    program = command[0]
    assert (VENV_BIN / program).exists() or shutil.which(program) or program == "python", program
    if program == "python":
        assert command[1] == "manage.py"
        assert command[2] in get_commands(), f"no management command {command[2]!r}"
    elif program == "gunicorn":
        assert command[1:3] == ["-c", "config/gunicorn.conf.py"], "the one gunicorn configuration (timeouts)"
        assert (ROOT / command[2]).is_file()
        module, attr = command[3].split(":")
        assert callable(getattr(importlib.import_module(module), attr))
    elif program == "celery":
        assert command[1:3] == ["-A", "config"]
        assert importlib.import_module("config").celery_app.main == "visitdesk"
        assert command[3] in {"worker", "beat"}


def test_environment_names_are_the_documented_ones():
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for key in COMPOSE["x-app"]["environment"]:
        assert f"`{key}`" in documented


def test_dockerfile_copies_every_app_package():
    from django.conf import settings

    dockerfile = (ROOT / "Dockerfile").read_text()
    own_apps = [app for app in settings.INSTALLED_APPS if (ROOT / app).is_dir()]
    assert "calendars" in own_apps
    for package in ("config", *own_apps, "templates", "locale"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_the_image_and_compose_start_gunicorn_the_same_way():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert yaml.safe_load(cmd.removeprefix("CMD ")) == COMPOSE["services"]["web"]["command"]
