"""Calendar addresses that try to hurt the service, served by a real local HTTP server (``hostile.py``).

Each import must end within its bounds — the fetch deadline (3 s here) for what arrives slowly, the
reader's CPU limit for what expands forever — with a short, clean ``last_error``, keep the busy times
of the last good import, and grow memory by less than 200 MB. Memory is measured where nothing else
runs: a fresh Python process performs the import (the fetch in-process as the worker does, the
reading in its limited child) and reports its own peak RSS growth (``VmHWM`` − ``VmRSS`` before) and
its children's peak (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from availability.models import ExternalBusy, ExternalCalendar
from availability.services import LAST_ERROR_MAX_CHARS, external_calendar_sync
from tests.factories import PersonFactory

from .conftest import utc
from .hostile import HostileServer

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 3
CPU_SECONDS = 4
#: Reading has its own bound: the child's CPU limit, plus the start of a Python process on a busy machine.
READ_BOUND = CPU_SECONDS + 3
MEMORY_GROWTH_MB = 200

#: path → what the owner is told, and whether the slow part is the fetch (deadline) or the reading.
CASES = {
    "/trickle-headers.ics": ("did not answer within 3 s", "fetch"),
    "/trickle-body.ics": ("took longer than 3 s to download", "fetch"),
    "/secondly.ics": ("repeats too often", "read"),
    "/minutely-transparent.ics": ("repeats too often", "read"),
    "/daily-1000.ics": ("repeats too often", "read"),
    "/gzip-bomb.ics": ("larger than", "fetch"),
    "/nul.ics": ("Not an iCalendar file", "read"),
}


@pytest.fixture(scope="module")
def hostile():
    server = HostileServer()
    yield server
    server.close()


@pytest.fixture
def limits(settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    settings.VISITDESK_BUSY_FETCH_TIMEOUT = DEADLINE
    settings.VISITDESK_BUSY_IMPORT_CPU_SECONDS = CPU_SECONDS
    return settings


def _clean(text: str) -> bool:
    return all(ch.isprintable() for ch in text) and len(text) <= LAST_ERROR_MAX_CHARS


@pytest.mark.parametrize("path", list(CASES))
def test_a_hostile_feed_ends_in_time_with_a_clean_error_and_keeps_the_last_busy_times(hostile, limits, path):
    expected, slow_part = CASES[path]
    person = PersonFactory(timezone="Europe/Berlin")
    calendar = ExternalCalendar.objects.create(person=person, url=hostile.url(path), busy_count=1)
    ExternalBusy.objects.create(calendar=calendar, person=person, starts_at=utc(2030, 1, 2, 9), ends_at=utc(2030, 1, 2, 10))
    started = time.monotonic()
    external_calendar_sync(calendar=calendar)
    elapsed = time.monotonic() - started
    calendar.refresh_from_db()  # stored: PostgreSQL refuses a NUL, so this also proves it is clean
    assert expected in calendar.last_error, calendar.last_error
    assert _clean(calendar.last_error)
    for leaked in ("X-Slow", "Evil", "Series", "hostile", "XXXX"):
        assert leaked not in calendar.last_error  # nothing of the body is quoted
    assert calendar.last_synced_at is None and calendar.busy_count == 1
    assert ExternalBusy.objects.filter(calendar=calendar).count() == 1  # the last good import stays
    bound = DEADLINE + 1.5 if slow_part == "fetch" else DEADLINE + READ_BOUND
    assert elapsed < bound, f"{path}: {elapsed:.1f} s"


_MEASURE = r"""
import json, resource, sys, time
from datetime import UTC, datetime, timedelta
import django
django.setup()
from availability.errors import FeedError
from availability.services import external_calendar_read

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith(key))

figures = {}
for url in sys.argv[1:]:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the current RSS
    before = status("VmRSS:")
    now = datetime.now(UTC)
    started = time.monotonic()
    try:
        external_calendar_read(url=url, zone="Europe/Berlin", start=now - timedelta(days=1),
                               end=now + timedelta(days=180))
        outcome = "imported"
    except FeedError as exc:
        outcome = exc.message
    figures[url] = {"elapsed": round(time.monotonic() - started, 2), "growth_mb": status("VmHWM:") - before,
                    "outcome": outcome}
figures["child_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(json.dumps(figures))
"""


@pytest.fixture(scope="module")
def memory_figures(hostile):
    """Every hostile import once, in one fresh process (its peak reset before each)."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("measures the peak RSS through /proc (Linux)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "VISITDESK_TESTING": "1",
           "PYTHONPATH": str(ROOT), "VISITDESK_BUSY_FETCH_ALLOW_PRIVATE": "1",
           "VISITDESK_BUSY_FETCH_TIMEOUT": str(DEADLINE), "VISITDESK_BUSY_IMPORT_CPU_SECONDS": str(CPU_SECONDS)}
    run = subprocess.run([sys.executable, "-c", _MEASURE, *(hostile.url(path) for path in CASES)], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    print("hostile imports, one fresh process:", json.dumps(figures, indent=1))
    return figures


@pytest.mark.parametrize("path", list(CASES))
def test_one_hostile_import_grows_memory_by_less_than_200_mb(hostile, memory_figures, path):
    figures = memory_figures[hostile.url(path)]
    assert CASES[path][0] in figures["outcome"]
    assert figures["growth_mb"] < MEMORY_GROWTH_MB, figures


def test_the_reading_child_stays_under_200_mb(memory_figures):
    """The largest reading child of all the imports above (``RUSAGE_CHILDREN`` keeps the maximum)."""
    assert 0 < memory_figures["child_peak_mb"] < MEMORY_GROWTH_MB


def test_a_server_that_compresses_anyway_is_read_within_the_limit(hostile, limits):
    """We ask for ``identity``; an honest calendar sent gzip-compressed regardless is inflated (the
    size limit counts the inflated bytes, which is what refused the bomb above)."""
    calendar = ExternalCalendar.objects.create(person=PersonFactory(), url=hostile.url("/gzip.ics"))
    external_calendar_sync(calendar=calendar)
    calendar.refresh_from_db()
    assert calendar.last_error == "" and calendar.busy_count == 1


def test_an_unknown_compression_is_refused_with_a_clear_message(limits):
    from availability.errors import FeedError
    from availability.fetch import _Body

    with pytest.raises(FeedError, match=r"compressed body \(br\)"):
        _Body("br", 1000)
    body = _Body("gzip", 1000)
    with pytest.raises(FeedError, match="cannot be decompressed"):
        body.add(b"definitely not gzip")


@pytest.fixture
def tls_hostile(limits, monkeypatch):
    """The hostile server over HTTPS, its test certificate trusted by the fetcher for this test."""
    from availability import fetch as fetch_module

    from .hostile import TLS_DIR

    monkeypatch.setattr(fetch_module, "_tls_context",
                        lambda: ssl.create_default_context(cafile=str(TLS_DIR / "cert.pem")))
    server = HostileServer(tls=True)
    yield server
    server.close()


@pytest.mark.parametrize(("path", "expected"), [("/trickle-headers.ics", "did not answer within 3 s"),
                                                ("/trickle-body.ics", "took longer than 3 s to download")])
def test_the_deadline_holds_over_tls_too(tls_hostile, path, expected):
    calendar = ExternalCalendar.objects.create(person=PersonFactory(), url=tls_hostile.url(path))
    started = time.monotonic()
    external_calendar_sync(calendar=calendar)
    assert time.monotonic() - started < DEADLINE + 1.5
    assert expected in calendar.last_error


def test_tls_is_verified_and_an_honest_calendar_over_tls_imports(tls_hostile, monkeypatch):
    calendar = ExternalCalendar.objects.create(person=PersonFactory(), url=tls_hostile.url("/gzip.ics"))
    external_calendar_sync(calendar=calendar)
    assert calendar.last_error == "" and calendar.busy_count == 1
    from availability import fetch as fetch_module

    monkeypatch.setattr(fetch_module, "_tls_context", ssl.create_default_context)  # the test CA is unknown
    external_calendar_sync(calendar=calendar)
    assert "TLS failed: CERTIFICATE_VERIFY_FAILED" in calendar.last_error


def _read(body: bytes):
    from datetime import UTC, datetime, timedelta

    from availability.ics_sandbox import busy_from_ics_isolated

    now = datetime.now(UTC)
    return busy_from_ics_isolated(body, zone="Europe/Berlin", start=now, end=now + timedelta(days=180))


def test_the_reading_child_is_stopped_at_its_cpu_limit(settings):
    """A rule whose filters never match yields no occurrence to count, while dateutil searches up to
    the year 9999: the budget cannot see it, the child's CPU limit ends it."""
    from availability.errors import FeedError

    from .hostile import calendar

    settings.VISITDESK_BUSY_IMPORT_CPU_SECONDS = 1
    never = calendar("UID:n@hostile\nDTSTART:20260101T000000Z\nDTEND:20260101T000001Z\n"
                     "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30")
    with pytest.raises(FeedError, match="more than 1 s of processor time"):
        _read(never)


def test_the_reading_child_is_stopped_at_its_memory_limit(settings):
    """5,000 plain events (800 kB) need about 60 MB to parse: fine by default, refused under 48 MB."""
    from availability.errors import FeedError

    from .hostile import calendar

    many = calendar(*[f"UID:e{i}@hostile\nSUMMARY:Event number {i}\nDTSTART:20261201T100000Z\n"
                      "DTEND:20261201T110000Z" for i in range(5000)])
    assert _read(many) is not None
    settings.VISITDESK_BUSY_IMPORT_MEMORY_MB = 48
    with pytest.raises(FeedError, match="within 48 MB of memory"):
        _read(many)
