"""The web server's configuration: the one place its timeouts are set (Dockerfile, docker-compose.yml).

    gunicorn -c config/gunicorn.conf.py config.wsgi:application

``timeout`` is the budget every in-request limit is derived from (``VISITDESK_WEB_TIMEOUT``, default
60 s): the settings cap solver limits (``VISITDESK_SOLVE_MAX_SECONDS``) and the database's statement
and lock timeouts below it, so a slow request answers (a 503 at worst) instead of being killed —
gunicorn's kill answers with its own HTML 500 or a reset connection and costs the worker's restart.
See docs/operations.md, "Timeouts and limits".
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import env_str, web_timeout_seconds  # after the path above

bind = env_str("VISITDESK_BIND", "0.0.0.0:8000")
#: Synchronous workers: one request each. WEB_CONCURRENCY is gunicorn's own convention.
workers = int(env_str("WEB_CONCURRENCY", "3"))
worker_class = "sync"
timeout = web_timeout_seconds()
#: On SIGTERM (a deployment) a worker finishes its request for up to this long; a request may take
#: up to ``timeout``, so the two are equal.
graceful_timeout = timeout
keepalive = 5
#: Newer gunicorn's runtime control socket (one fixed path per user, shared by every instance on the
#: host): nothing here uses it, and two servers on one machine (replicas, tests) would fight over it.
#: Older gunicorn ignores the name.
control_socket_disable = True
#: No access log: django-structlog writes one line per request (request_finished, with its request id,
#: status and user; config/logging.py), and a second, unstructured line per request would only double it.
accesslog = None
errorlog = "-"
#: Several worker processes: /metrics sums their counters through prometheus_client's multiprocess
#: mode. Each server gets a fresh folder (a restart must not add the previous run's counts) unless
#: PROMETHEUS_MULTIPROC_DIR names one; it is set here, before the workers import anything.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="visitdesk-metrics-")
else:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A worker ended: its live gauges leave /metrics (its counters stay summed in)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
#: Behind a reverse proxy: the proxy's address(es), so REMOTE_ADDR and the scheme come from it
#: (throttles key on REMOTE_ADDR; see VISITDESK_NUM_PROXIES).
forwarded_allow_ips = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1")
