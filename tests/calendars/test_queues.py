"""Render work has a queue of its own, and every way of running the site has a worker consuming it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from config.celery import RENDER_QUEUE, app

ROOT = Path(__file__).resolve().parents[2]


def _queues(command: list[str]) -> set[str]:
    """The ``-Q`` of a celery worker command; Celery's default queue without one."""
    if "-Q" not in command:
        return {"celery"}
    return set(command[command.index("-Q") + 1].split(","))


def test_render_tasks_and_mail_tasks_go_to_different_queues():
    router = app.amqp.router
    assert router.route({}, "calendars.render_stale")["queue"].name == RENDER_QUEUE
    assert router.route({}, "calendars.render_fragments")["queue"].name == RENDER_QUEUE
    assert router.route({}, "notifications.dispatch_due")["queue"].name == "celery"


def test_docker_compose_runs_a_worker_for_each_queue():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    served = set()
    for service in services.values():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "config", "worker"]:
            served |= _queues(command)
    assert served >= {"celery", RENDER_QUEUE}
    assert _queues(services["worker"]["command"]) == {"celery"}  # mail never waits behind renders


def test_the_procfile_worker_consumes_both_queues():
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    match = re.search(r"-Q (\S+)", line)
    assert match and set(match.group(1).split(",")) == {"celery", RENDER_QUEUE}
