"""``/metrics``: Prometheus' text format, for a scraper that holds ``VISITDESK_METRICS_TOKEN``.

Answered by a middleware placed before host validation and the HTTPS redirect (like ``/healthz``), so
a scraper inside the deployment's network may call ``http://web:8000/metrics``. Without the setting
the path does not exist (404); with it, a request without ``Authorization: Bearer <token>`` or with
a wrong one gets 401 (compared in constant time).

What it serves (every metric is listed in docs/operations.md, "Metrics"):

- django-prometheus' request, response, database and cache metrics and the process metrics of
  ``prometheus_client`` (summed over the processes of the machine when ``PROMETHEUS_MULTIPROC_DIR`` is
  set), plus the solver histogram of ``core.metrics``;
- figures read from the database at scrape time (``DatabaseFigures``): outbox depth and the age of
  the oldest due message, mails sent and failed (counters: rows that reached that state), feed
  fragments waiting to be rendered, calendar imports failing. They are the deployment's figures,
  the same whichever web process answers.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

PATH = "/metrics"


class DatabaseFigures:
    """A Prometheus collector whose figures are queries, run when /metrics is read."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("visitdesk_metrics_database_up",
                               "1 when the figures below could be read from the database, else 0.")
        try:
            families = list(self._figures())
        except Exception as exc:  # a database outage must not turn /metrics into a 500
            logger.warning("metrics_database_figures_failed", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _figures(self) -> Iterator[Metric]:
        from availability.models import ExternalCalendar
        from calendars.fragments import stale_ids
        from notifications.models import OutboxMessage

        now = timezone.now()
        State = OutboxMessage.State
        by_state = dict(OutboxMessage.objects.order_by().values_list("state").annotate(n=Count("id")))
        states = GaugeMetricFamily("visitdesk_outbox_messages", "Outbox rows by state (pending includes those not due yet).",
                                   labels=["state"])
        for state in State.values:
            states.add_metric([state], by_state.get(state, 0))
        yield states

        due = OutboxMessage.objects.filter(state=State.PENDING, due_at__lte=now).aggregate(n=Count("id"), oldest=Min("due_at"))
        yield GaugeMetricFamily("visitdesk_outbox_due", "Outbox messages due now and not yet sent (the dispatcher's backlog).",
                                value=due["n"])
        age = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
        yield GaugeMetricFamily("visitdesk_outbox_oldest_due_age_seconds",
                                "Seconds since the oldest unsent due message became due (0 when none is due).", value=age)

        sent = CounterMetricFamily("visitdesk_mails_sent", "Mails handed to the mail server (outbox rows in state sent).",
                                   value=by_state.get(State.SENT, 0))
        yield sent
        yield CounterMetricFamily("visitdesk_mails_failed", "Mails given up on (outbox rows in state failed).",
                                  value=by_state.get(State.FAILED, 0))

        yield GaugeMetricFamily("visitdesk_feed_fragments_stale",
                                "Meetings in the feed window whose calendar fragment waits to be rendered.",
                                value=len(stale_ids()))

        calendars = ExternalCalendar.objects.aggregate(total=Count("id"), failing=Count("id", filter=~Q(last_error="")))
        yield GaugeMetricFamily("visitdesk_calendar_imports", "Imported (external) calendars.", value=calendars["total"])
        yield GaugeMetricFamily("visitdesk_calendar_imports_failing",
                                "Imported calendars whose last fetch failed (last_error set).", value=calendars["failing"])


def exposition() -> bytes:
    """The text of /metrics: this process's (or this machine's) metrics, then the database's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        process_metrics = generate_latest(registry)
    else:
        process_metrics = generate_latest(REGISTRY)
    figures = CollectorRegistry(auto_describe=False)
    figures.register(DatabaseFigures())
    return process_metrics + generate_latest(figures)


def authorised(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != PATH:
            return self.get_response(request)
        token = settings.VISITDESK_METRICS_TOKEN
        if not token:
            return HttpResponse("Not found.", status=404, content_type="text/plain")
        if request.method not in ("GET", "HEAD"):
            return HttpResponse("Method not allowed.", status=405, content_type="text/plain", headers={"Allow": "GET, HEAD"})
        if not authorised(request, token):
            return HttpResponse("Unauthorized.", status=401, content_type="text/plain",
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"})
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
