"""Processes the end-to-end benchmarks start for themselves: a free port, a private ``redis-server``,
waiting for something to happen."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.05) -> Any:
    """``predicate()``'s first true value; the bench stops with a message after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A ``redis-server`` of the bench's own on a free port (its URL), stopped at the end; without the
    binary, ``REDIS_URL``'s server."""
    if not shutil.which("redis-server"):
        yield os.environ["REDIS_URL"]
        return
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
