"""A real HTTP receiver for webhook tests: ``http.server`` in a thread on 127.0.0.1, keeping every
request (headers and body as received) and answering with the statuses a test queues."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the body had arrived


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer with, in order; when empty, ``default``.
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/visitdesk"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
