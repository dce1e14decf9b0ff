"""docker-compose.yml, read: what `make compose-up` (podman) and `make drill-compose` run for real.

Every command it runs must exist in the image: executables are installed by pyproject's
dependencies, Django management commands exist, import paths (WSGI app, Celery app) import. Every
image is built here from Debian's packages (no registry image), and nothing is published beyond
127.0.0.1.
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
APP_SERVICES = [name for name, svc in COMPOSE["services"].items() if svc.get("image") == "visitdesk:latest"]
VENV_BIN = Path(sys.executable).parent


def _command(service: dict) -> list[str]:
    command = service.get("command")
    assert isinstance(command, list), "use exec-form commands so no shell is needed"
    return command


def test_app_services_share_one_image_through_the_anchor():
    assert set(APP_SERVICES) >= {"web", "worker", "beat", "migrate"}
    images = {COMPOSE["services"][name]["image"] for name in APP_SERVICES}
    assert images == {"visitdesk:latest"}
    assert all(COMPOSE["services"][name]["build"]["context"] == "." for name in APP_SERVICES)


def test_exactly_one_beat_and_several_web_and_workers():
    services = COMPOSE["services"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["web"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("name", ["web", "worker", "postgres", "redis"])
def test_long_running_services_have_health_checks(name):
    test = COMPOSE["services"][name]["healthcheck"]["test"]
    if COMPOSE["services"][name].get("deploy", {}).get("replicas", 1) > 1:
        # podman-compose 1.0.3 pops a list's "CMD" on the first replica; the second replica fails.
        assert isinstance(test, str), "replicated services need the string (shell) form"
        return
    assert test[0] == "CMD"
    # Exec form runs no shell: a variable in it would be passed literally.
    assert not any("$" in part for part in test[1:])


def test_every_image_is_built_from_debian_packages_here():
    """No registry is reachable from these machines: every service builds on the debootstrap base."""
    for name, service in COMPOSE["services"].items():
        assert "build" in service, f"{name} would pull {service.get('image')} from a registry"
        context = ROOT / service["build"]["context"]
        dockerfile = context / ("Containerfile" if (context / "Containerfile").exists() else "Dockerfile")
        text = dockerfile.read_text()
        assert "ARG BASE_IMAGE=localhost/visitdesk-debian:bookworm" in text and "FROM ${BASE_IMAGE}" in text, name
        assert service["build"]["args"]["BASE_IMAGE"] == "localhost/visitdesk-debian:bookworm"


def test_only_the_web_replicas_publish_and_only_on_loopback():
    published = {name: svc["ports"] for name, svc in COMPOSE["services"].items() if svc.get("ports")}
    assert set(published) == {"web"}
    assert all(str(port).startswith("127.0.0.1:") for port in published["web"])


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
