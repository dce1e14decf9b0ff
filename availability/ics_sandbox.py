"""Read a fetched calendar in a short-lived child process with a hard memory and CPU bound.

``ics.busy_from_ics`` already refuses a feed whose expansion passes its budget, but parsing is
done by third-party code (icalendar, dateutil, recurring-ical-events) on input an account holder
controls: a construct nobody has thought of yet must not be able to grow the worker to gigabytes or
spin it for minutes. So the parse and expansion run in a fresh Python process that limits itself
before reading the calendar:

* ``RLIMIT_AS`` = ``VISITDESK_BUSY_IMPORT_MEMORY_MB`` (address space: an allocation past it fails
  with MemoryError inside the child; the worker's own memory never grows);
* ``RLIMIT_CPU`` = ``VISITDESK_BUSY_IMPORT_CPU_SECONDS`` (the kernel ends the child), and the parent
  waits at most that plus a few seconds of wall-clock time before killing it.

A plain ``subprocess`` and not ``multiprocessing``: Celery's prefork children are daemonic and may
not start multiprocessing children, and a fork of a worker would inherit its memory and database
connections. The child imports no Django (``python -E -s -m availability.ics_sandbox``, started in
about 0.2 s), reads one JSON line of parameters and then the calendar from stdin, and writes one JSON
object to stdout: the busy intervals, or the owner-facing error message.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from .errors import FeedError
from .intervals import Interval

#: Wall-clock seconds the parent allows beyond the child's CPU limit (start-up, a busy machine).
WALL_GRACE_SECONDS = 5
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


def busy_from_ics_isolated(data: bytes, *, zone: str, start: datetime, end: datetime) -> list[Interval]:
    """``ics.busy_from_ics`` in a child process bounded by the settings above; FeedError on any failure."""
    from django.conf import settings

    cpu_seconds = int(settings.VISITDESK_BUSY_IMPORT_CPU_SECONDS)
    memory_mb = int(settings.VISITDESK_BUSY_IMPORT_MEMORY_MB)
    params = {"zone": zone, "start": start.isoformat(), "end": end.isoformat(),
              "max_occurrences": int(settings.VISITDESK_BUSY_MAX_OCCURRENCES),
              "cpu_seconds": cpu_seconds, "memory_mb": memory_mb}
    try:
        child = subprocess.run(  # our own interpreter and module, no shell, no user input in argv
            [sys.executable, "-E", "-s", "-m", "availability.ics_sandbox"],
            input=json.dumps(params).encode() + b"\n" + data, capture_output=True, cwd=_PROJECT_ROOT,
            timeout=cpu_seconds + WALL_GRACE_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FeedError(f"Reading the calendar took longer than {cpu_seconds + WALL_GRACE_SECONDS} s.") from exc
    except OSError as exc:
        raise FeedError("The calendar could not be read: the import process did not start.") from exc
    if child.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise FeedError(f"Reading the calendar took more than {cpu_seconds} s of processor time.")
    try:
        answer = json.loads(child.stdout)
    except ValueError:
        answer = {}
    if "busy" in answer:
        return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in answer["busy"]]
    if b"MemoryError" in child.stderr or answer.get("memory"):
        raise FeedError(f"The calendar is too large or complex to read within {memory_mb} MB of memory.")
    raise FeedError(str(answer.get("error") or "The calendar could not be read."))


def _child() -> None:
    import resource

    params = json.loads(sys.stdin.buffer.readline())
    memory = int(params["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (int(params["cpu_seconds"]), int(params["cpu_seconds"]) + 1))
    from .ics import busy_from_ics

    answer: dict[str, object]
    try:
        data = sys.stdin.buffer.read()
        spans = busy_from_ics(data, zone=params["zone"], start=datetime.fromisoformat(params["start"]),
                              end=datetime.fromisoformat(params["end"]), max_occurrences=params["max_occurrences"])
        del data
        answer = {"busy": [(a.isoformat(), b.isoformat()) for a, b in spans]}
    except FeedError as exc:
        answer = {"error": exc.message}
    except MemoryError:
        answer = {"memory": True}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _child()
