"""Structured logs: one line per request with its request id; JSON in production, console lines in development.

The worker side (a task's line carrying the id of the request that queued it) runs against a real
worker in tests/integration/test_logs_and_history.py.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest
import structlog

from config.logging import logging_config

pytestmark = pytest.mark.django_db


def _events(caplog) -> list[dict]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.levelno >= logging.INFO]


def test_one_line_per_request_with_its_request_id(client, caplog):
    caplog.set_level(logging.INFO)
    assert client.get("/").status_code == 200
    lines = [e for e in _events(caplog) if e.get("logger", "").startswith("django_structlog")]
    assert [e["event"] for e in lines] == ["request_finished"]
    assert lines[0]["code"] == 200 and lines[0]["request"] == "GET /" and len(lines[0]["request_id"]) == 36


def test_each_request_gets_its_own_id(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/")
    client.get("/")
    ids = [e["request_id"] for e in _events(caplog) if e.get("event") == "request_finished"]
    assert len(ids) == 2 and ids[0] != ids[1]


def _render(log_format: str) -> str:
    config = logging_config(log_format, "INFO")
    config["handlers"]["console"]["stream"] = stream = io.StringIO()
    config["root"] = {"handlers": ["console"], "level": "INFO"}
    saved = logging.root.handlers[:], logging.root.level
    try:
        logging.config.dictConfig(config)
        with structlog.contextvars.bound_contextvars(request_id="abc-123"):
            structlog.get_logger("visitdesk.test").info("outbox_sent", sent=3)
            logging.getLogger("celery.worker").info("a line from a library")
    finally:
        logging.root.handlers[:], logging.root.level = saved
    return stream.getvalue()


def test_production_lines_are_json_objects_with_the_request_id():
    lines = _render("json").splitlines()
    assert len(lines) == 2
    ours, library = (json.loads(line) for line in lines)
    assert ours["event"] == "outbox_sent" and ours["sent"] == 3 and ours["request_id"] == "abc-123"
    assert ours["level"] == "info" and ours["timestamp"].endswith("Z")
    assert library["event"] == "a line from a library" and library["logger"] == "celery.worker"
    assert library["request_id"] == "abc-123"


def test_development_lines_are_readable_text():
    text = _render("console")
    assert "outbox_sent" in text and "request_id=abc-123" in text and "sent=3" in text
    assert not text.lstrip().startswith("{")


@pytest.mark.parametrize(("env", "expected"), [
    ({"DJANGO_DEBUG": "1"}, "console"),  # `make run`
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}, "json"),  # production
    ({"DJANGO_DEBUG": "1", "VISITDESK_LOG_FORMAT": "json"}, "json"),
])
def test_the_format_follows_development_mode_unless_set(env, expected):
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k not in ("VISITDESK_TESTING", "VISITDESK_LOG_FORMAT", "DJANGO_DEBUG")}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.VISITDESK_LOG_FORMAT)"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env}, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == expected
