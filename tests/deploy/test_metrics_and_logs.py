"""The deployed web server's /metrics and logs (gunicorn, two workers, production settings).

- /metrics sums the request counters of both worker processes (prometheus_client's multiprocess
  mode, set up by config/gunicorn.conf.py) and adds the database's figures; without the bearer
  token it answers 401.
- Every request is one JSON line with its request id (django-structlog), and no access-log line besides.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from .conftest import needs_services

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "deploy-metrics-" + "t" * 30


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_sum_both_workers_and_every_request_is_one_json_line(gunicorn_server):
    server = gunicorn_server(VISITDESK_METRICS_TOKEN=TOKEN)
    assert _get(f"{server.url}/metrics")[0] == 401
    assert _get(f"{server.url}/metrics", "wrong")[0] == 401

    pages = 24
    for _ in range(pages):
        assert _get(f"{server.url}/")[0] == 200
    status, text = _get(f"{server.url}/metrics", TOKEN)
    assert status == 200
    served = sum(float(v) for v in re.findall(
        r'^django_http_responses_total_by_status_view_method_total\{[^}]*status="200"[^}]*view="web:home"[^}]*\} (\S+)$',
        text, re.MULTILINE))
    assert served == pages, text[:4000]
    assert re.search(r"^visitdesk_outbox_due \d", text, re.MULTILINE)
    assert re.search(r"^visitdesk_metrics_database_up 1\.0$", text, re.MULTILINE)

    lines = [json.loads(line) for line in server.log.read_text(errors="replace").splitlines() if line.startswith("{")]
    home = [line for line in lines if line.get("event") == "request_finished" and line.get("request") == "GET /"]
    assert len(home) == pages
    assert len({line["request_id"] for line in home}) == pages
    assert not [line for line in server.log.read_text(errors="replace").splitlines() if '"GET / HTTP/1.1" 200' in line]  # no access log
