"""Suite-wide fixtures and the rule that CI may not hide missing services behind skips.

With ``VISITDESK_REQUIRE_SERVICES=1`` (set by .ci/run for the PostgreSQL + Redis pass) any skipped
test fails the session: a skip there means a service or tool is missing, not that a test is optional.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("VISITDESK_REQUIRE_SERVICES") == "1"
_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(f"{report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else ''}")


def pytest_sessionfinish(session, exitstatus):
    if REQUIRE_SERVICES and _skipped and exitstatus == 0:
        print("\nVISITDESK_REQUIRE_SERVICES=1 but tests were skipped:\n  " + "\n  ".join(_skipped))
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.support import ical_checks

    if ical_checks.ICalGLib is None:
        terminalreporter.write_line(
            "NOTE: libical bindings missing, calendars were checked without libical "
            "(apt-get install gir1.2-ical-3.0 libgirepository1.0-dev libcairo2-dev pkg-config; make install)"
        )
    if REQUIRE_SERVICES and _skipped:
        terminalreporter.write_line(f"FAILED: {len(_skipped)} test(s) skipped although services are required")


@pytest.fixture
def on_postgres(db):
    """Skip unless the database is PostgreSQL (constraints, SKIP LOCKED, real races)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    return True
