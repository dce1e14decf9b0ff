"""Importing busy times from people's own calendars over a real local HTTP server.

Recurrences, overrides, all-day and floating events, TRANSPARENT and CANCELLED, conditional requests,
a feed that fails without blocking others, size and time limits, and the SSRF guard.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from availability import fetch as fetch_module
from availability import tasks
from availability.errors import FeedError
from availability.models import ExternalBusy, ExternalCalendar
from availability.services import external_calendar_sync
from tests.factories import PersonFactory

from .conftest import utc

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def ics(*events: str, extra: str = "") -> bytes:
    body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Busy//EN\r\n" + extra
    for event in events:
        body += "BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n" + event.strip().replace("\n", "\r\n") + "\r\nEND:VEVENT\r\n"
    return (body + "END:VCALENDAR\r\n").encode()


class Server:
    """Serves ``routes[path] = (status, headers, body)``; records each request's headers."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                status, headers, body = server.routes.get(self.path, (404, {}, b"not here"))
                if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    status, body = 304, b""
                if headers.get("X-Sleep"):
                    time.sleep(float(headers["X-Sleep"]))
                self.send_response(status)
                for key, value in headers.items():
                    if key != "X-Sleep":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    settings.VISITDESK_BUSY_FETCH_TIMEOUT = 2
    srv = Server()
    yield srv
    srv.close()


def _calendar(server, path, body, *, person=None, headers=None, status=200) -> ExternalCalendar:
    server.routes[path] = (status, {"Content-Type": "text/calendar", **(headers or {})}, body)
    person = person or PersonFactory(timezone="Europe/Berlin")
    return ExternalCalendar.objects.create(person=person, url=server.url(path))


def _busy(calendar) -> list[tuple[datetime, datetime]]:
    return list(ExternalBusy.objects.filter(calendar=calendar).order_by("starts_at").values_list("starts_at", "ends_at"))


def test_recurrences_overrides_all_day_floating_and_dst(server):
    body = ics(
        # weekly Tuesday 10:00 Berlin across the DST end on 25 Oct... and into winter; one date excluded,
        # one moved by a RECURRENCE-ID override, one extra date added with RDATE
        """UID:weekly@test
SUMMARY:Secret project
DTSTART;TZID=Europe/Berlin:20261124T100000
DTEND;TZID=Europe/Berlin:20261124T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Berlin:20261201T100000
RDATE;TZID=Europe/Berlin:20261127T160000""",
        """UID:weekly@test
RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000
DTSTART;TZID=Europe/Berlin:20261208T140000
DTEND;TZID=Europe/Berlin:20261208T150000""",
        # all-day on 25 December in the person's zone
        """UID:holiday@test
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261226""",
        # floating: 08:00 on the person's wall clock
        """UID:floating@test
DTSTART:20261123T080000
DTEND:20261123T083000""",
        # shown as free, and a cancelled one: neither is busy
        """UID:free@test
TRANSP:TRANSPARENT
DTSTART:20261123T120000Z
DTEND:20261123T130000Z""",
        """UID:cancelled@test
STATUS:CANCELLED
DTSTART:20261123T140000Z
DTEND:20261123T150000Z""",
        extra="BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
              "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
              "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
              "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n",
    )
    calendar = _calendar(server, "/me.ics", body)
    calendar = external_calendar_sync(calendar=calendar, now=NOW)
    assert calendar.last_error == ""
    assert calendar.last_synced_at == NOW
    assert _busy(calendar) == [
        (utc(2026, 11, 23, 7), utc(2026, 11, 23, 7, 30)),       # floating 08:00 Berlin
        (utc(2026, 11, 24, 9), utc(2026, 11, 24, 10)),          # first Tuesday
        (utc(2026, 11, 27, 15), utc(2026, 11, 27, 16)),         # RDATE
        (utc(2026, 12, 8, 13), utc(2026, 12, 8, 14)),           # moved by RECURRENCE-ID
        (utc(2026, 12, 15, 9), utc(2026, 12, 15, 10)),          # last of COUNT=4 (1 Dec excluded)
        (utc(2026, 12, 24, 23), utc(2026, 12, 25, 23)),         # all-day in Berlin
    ]
    assert calendar.busy_count == 6


def test_summer_and_winter_occurrences_keep_their_wall_clock(server):
    body = ics("""UID:dst@test
DTSTART;TZID=America/New_York:20261026T090000
DTEND;TZID=America/New_York:20261026T100000
RRULE:FREQ=WEEKLY;COUNT=2""")
    calendar = external_calendar_sync(calendar=_calendar(server, "/ny.ics", body), now=datetime(2026, 10, 20, tzinfo=UTC))
    # 09:00 EDT = 13:00 UTC; after New York falls back on 1 November, 09:00 EST = 14:00 UTC
    assert _busy(calendar) == [(utc(2026, 10, 26, 13), utc(2026, 10, 26, 14)), (utc(2026, 11, 2, 14), utc(2026, 11, 2, 15))]


def test_only_busy_intervals_are_stored_never_details(server):
    calendar = _calendar(server, "/private.ics", ics("""UID:x@test
SUMMARY:Job interview at competitor
LOCATION:Secret place
DTSTART:20261201T100000Z
DTEND:20261201T110000Z"""))
    external_calendar_sync(calendar=calendar, now=NOW)
    stored = {f.name for f in ExternalBusy._meta.get_fields()}
    assert stored == {"id", "calendar", "person", "starts_at", "ends_at"}
    assert _busy(calendar) == [(utc(2026, 12, 1, 10), utc(2026, 12, 1, 11))]


def test_conditional_requests_and_unchanged_feed(server):
    calendar = _calendar(server, "/etag.ics", ics("UID:a@test\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z"),
                         headers={"ETag": '"v1"', "Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT"})
    external_calendar_sync(calendar=calendar, now=NOW)
    calendar.refresh_from_db()
    assert calendar.etag == '"v1"'
    external_calendar_sync(calendar=calendar, now=NOW)
    last_headers = server.requests[-1][1]
    assert last_headers["If-None-Match"] == '"v1"'
    assert last_headers["If-Modified-Since"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    calendar.refresh_from_db()
    assert calendar.busy_count == 1 and len(_busy(calendar)) == 1 and calendar.last_error == ""


def test_a_failing_feed_keeps_old_busy_times_and_does_not_block_others(server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        # The task syncs "now" (not NOW): the good feed's event lies in the days ahead of today.
        day = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y%m%d")
        good = _calendar(server, "/good.ics", ics(f"UID:g@test\nDTSTART:{day}T100000Z\nDTEND:{day}T110000Z"))
        broken = _calendar(server, "/broken.ics", b"this is not a calendar")
        gone = _calendar(server, "/gone.ics", b"", status=500)
        ExternalBusy.objects.create(calendar=gone, person=gone.person, starts_at=utc(2026, 12, 2, 9),
                                    ends_at=utc(2026, 12, 2, 10))
        assert tasks.sync_due_calendars() == 3
    finally:
        app.conf.task_always_eager = False
    good.refresh_from_db(), broken.refresh_from_db(), gone.refresh_from_db()
    assert good.last_error == "" and good.busy_count == 1
    assert "Not an iCalendar file" in broken.last_error and broken.last_synced_at is None
    assert "500" in gone.last_error and len(_busy(gone)) == 1  # the last good busy times stay
    assert tasks.sync_due_calendars() == 0  # each was tried just now


def test_size_and_time_limits(server, settings):
    settings.VISITDESK_BUSY_FETCH_MAX_BYTES = 1000
    big = _calendar(server, "/big.ics", ics(*[f"UID:{i}@t\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z"
                                              for i in range(50)]))
    assert "larger than" in external_calendar_sync(calendar=big, now=NOW).last_error
    settings.VISITDESK_BUSY_FETCH_TIMEOUT = 0.5
    slow = _calendar(server, "/slow.ics", ics(), headers={"X-Sleep": "1.5"})
    assert "did not answer" in external_calendar_sync(calendar=slow, now=NOW).last_error


def test_redirects_are_followed(server):
    server.routes["/old.ics"] = (301, {"Location": "/new.ics"}, b"")
    calendar = _calendar(server, "/new.ics", ics("UID:r@test\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z"))
    calendar.url = server.url("/old.ics")
    assert external_calendar_sync(calendar=calendar, now=NOW).busy_count == 1


# --- SSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x.ics",
    "http://localhost:9/x.ics",
    "http://[::1]:9/x.ics",
    "http://10.1.2.3/x.ics",
    "http://192.168.0.10/x.ics",
    "http://172.16.5.4/x.ics",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/x.ics",
    "http://0.0.0.0/x.ics",
    "http://100.64.0.1/x.ics",
    "http://[fe80::1]/x.ics",
])
def test_private_and_local_addresses_are_refused(settings, url):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(FeedError, match="private or local"):
        fetch_module.fetch(url)


def test_a_redirect_to_a_private_address_is_refused(server, settings, monkeypatch):
    """The first hop is allowed (as if public); its redirect to the metadata address is checked again."""
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False
    real = fetch_module._public
    monkeypatch.setattr(fetch_module, "_public", lambda a: a == "127.0.0.1" or real(a))
    server.routes["/hop.ics"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    with pytest.raises(FeedError, match="private or local"):
        fetch_module.fetch(server.url("/hop.ics"))
    assert [path for path, _ in server.requests] == ["/hop.ics"]


def test_connects_to_the_checked_address_and_sends_the_real_host(server, monkeypatch):
    """A name is resolved once, checked, and that address is used (no second lookup to rebind)."""
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo("127.0.0.1" if host == "calendar.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    server.routes["/named.ics"] = (200, {}, ics())
    result = fetch_module.fetch(f"http://calendar.example.test:{server.port}/named.ics")
    assert result.status == 200
    assert lookups[0] == "calendar.example.test"
    assert set(lookups[1:]) <= {"127.0.0.1"}  # later lookups only of the checked address itself
    assert server.requests[-1][1]["Host"] == f"calendar.example.test:{server.port}"


@pytest.mark.parametrize("url", ["ftp://example.org/x.ics", "file:///etc/passwd", "https://user:pw@example.org/x.ics",
                                 "not a url"])
def test_only_http_addresses_are_accepted(url):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        fetch_module.check_url_shape(url)


def test_webcal_becomes_https():
    assert fetch_module.check_url_shape("webcal://calendar.example.org/s.ics") == "https://calendar.example.org/s.ics"
