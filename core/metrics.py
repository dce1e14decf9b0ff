"""Metrics the domain code reports as it works (Prometheus client objects; served at /metrics).

Figures that the database already knows (outbox depth, mails sent, stale fragments, failing calendar
imports) are not counted here but read when /metrics is scraped (``config.metrics``): they are then
the same whichever web process answers and survive restarts. What only the running code sees — how
long a solve took and how it ended — is observed here. With several processes per machine set
``PROMETHEUS_MULTIPROC_DIR`` (docs/operations.md, "Metrics") so each process's observations are
summed.
"""

from __future__ import annotations

from prometheus_client import Histogram

SOLVER_SECONDS = Histogram(
    "visitdesk_solver_seconds",
    "Wall-clock seconds of one CP-SAT solve (proposals, re-solves, repairs, batch solves), by outcome.",
    ["status"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)


def solver_finished(status: str, seconds: float) -> None:
    """A solve ended with ``status`` (optimal / feasible / infeasible / unknown) after ``seconds``."""
    SOLVER_SECONDS.labels(status=status).observe(max(0.0, seconds))
