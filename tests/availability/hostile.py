"""A hostile calendar server for the import tests: a real HTTP server on 127.0.0.1 (free port).

Each path is one way an account holder's calendar address can try to hurt the service:

* ``/trickle-headers.ics`` sends the status line, then one header byte every ``TRICKLE_EVERY``
  seconds, never finishing the headers;
* ``/trickle-body.ics`` sends complete headers (a 100 kB ``Content-Length``) and then one body
  byte every ``TRICKLE_EVERY`` seconds;
* ``/secondly.ics`` is the 198-byte ``FREQ=SECONDLY`` rule without an end;
* ``/minutely-transparent.ics`` is ``FREQ=MINUTELY`` marked ``TRANSP:TRANSPARENT`` (no busy time at
  all, but all the expansion work);
* ``/daily-1000.ics`` holds 1,000 daily series (about 130 kB);
* ``/gzip-bomb.ics`` answers ``Content-Encoding: gzip`` although the client asked for ``identity``:
  a few kB that inflate to far more than any size limit;
* ``/gzip.ics`` is an honest small calendar, gzip-compressed anyway;
* ``/nul.ics`` is a calendar with NUL bytes and control characters in it.

With ``tls=True`` it serves the same over HTTPS with the test certificate in ``tls/``. The
trickling handlers stop when the server closes, so no thread outlives a test.
"""

from __future__ import annotations

import functools
import gzip
import ssl
import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TRICKLE_EVERY = 2.0
TLS_DIR = Path(__file__).resolve().parent / "tls"
HOSTILE_PATHS = ["/trickle-headers.ics", "/trickle-body.ics", "/secondly.ics", "/minutely-transparent.ics",
                 "/daily-1000.ics", "/gzip-bomb.ics", "/nul.ics"]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def calendar(*events: str) -> bytes:
    body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Hostile//Test//EN\r\n"
    for event in events:
        body += "BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n" + event.strip().replace("\n", "\r\n") + "\r\nEND:VEVENT\r\n"
    return (body + "END:VCALENDAR\r\n").encode()


def bodies(now: datetime | None = None) -> dict[str, bytes]:
    """The hostile calendars, their rules starting just before ``now`` (inside the import horizon)."""
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(hours=1)
    soon = start + timedelta(days=3)
    secondly = calendar(f"UID:s@hostile\nDTSTART:{_stamp(start)}\nDTEND:{_stamp(start + timedelta(seconds=1))}\n"
                        "RRULE:FREQ=SECONDLY")
    minutely = calendar(f"UID:m@hostile\nDTSTART:{_stamp(start)}\nDTEND:{_stamp(start + timedelta(minutes=1))}\n"
                        "RRULE:FREQ=MINUTELY\nTRANSP:TRANSPARENT")
    daily = calendar(*[f"UID:d{i}@hostile\nSUMMARY:Series {i}\n"
                       f"DTSTART:{_stamp(start + timedelta(minutes=i))}\n"
                       f"DTEND:{_stamp(start + timedelta(minutes=i + 1))}\nRRULE:FREQ=DAILY"
                       for i in range(1000)])
    honest = calendar(f"UID:g@hostile\nDTSTART:{_stamp(soon)}\nDTEND:{_stamp(soon + timedelta(hours=1))}")
    nul = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:\x00\x01\x1b[31m-//Evil\x00//EN\r\n"
           b"BEGIN:VEVENT\r\nUID:\x00\x00@hostile\r\nDTSTART:2026\x0011\x00T1000\x00Z\r\nEND:VEVENT\r\n"
           + b"\x00" * 500 + b"END:VCALENDAR\r\n")
    return {
        "/secondly.ics": secondly,
        "/minutely-transparent.ics": minutely,
        "/daily-1000.ics": daily,
        "/gzip.ics": honest,
        "/nul.ics": nul,
    }


@functools.cache
def gzip_bomb(inflated_mb: int = 64) -> bytes:
    """``inflated_mb`` MB of blanks after a calendar's first line, gzip-compressed to about 64 kB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    parts = [compressor.compress(b"BEGIN:VCALENDAR\r\n")]
    block = b" " * 1_000_000
    parts += [compressor.compress(block) for _ in range(inflated_mb)]
    return b"".join(parts) + compressor.flush()


class HostileServer:
    """``url(path)`` for each path above; ``requests`` counts what reached it."""

    def __init__(self, *, now: datetime | None = None, trickle_every: float = TRICKLE_EVERY, tls: bool = False) -> None:
        self.stopping = threading.Event()
        self.requests: list[str] = []
        self.bodies = bodies(now)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path == "/trickle-headers.ics":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self._trickle(b"X-Slow: " + b"a" * 10_000)
                elif self.path == "/trickle-body.ics":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 100000\r\n\r\n")
                    self._trickle(b"BEGIN:VCALENDAR\r\n" + b"X" * 100_000)
                elif self.path == "/gzip-bomb.ics":
                    self._send(gzip_bomb(), {"Content-Encoding": "gzip"})
                elif self.path == "/gzip.ics":
                    self._send(gzip.compress(server.bodies["/gzip.ics"]), {"Content-Encoding": "gzip"})
                elif self.path in server.bodies:
                    self._send(server.bodies[self.path], {})
                else:
                    self._send(b"not here", {}, status=404)

            def _send(self, body: bytes, headers: dict[str, str], status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, data: bytes) -> None:
                self.wfile.flush()
                for byte in data:
                    if server.stopping.wait(trickle_every):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:  # the client gave up: that is the point
                        return
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        if tls:  # a test certificate for 127.0.0.1 (tls/cert.pem, valid for a century; its key is public)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS_DIR / "cert.pem", TLS_DIR / "key.pem")
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":  # a standalone server for measuring by hand: python -m tests.availability.hostile
    hostile = HostileServer()
    print(f"serving on http://127.0.0.1:{hostile.port}/ : {', '.join(HOSTILE_PATHS)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hostile.close()
