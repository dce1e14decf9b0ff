"""A wall-clock guard for the solver calls: answer 503 before gunicorn would kill the worker.

The solver's own ``time_limit_seconds`` (capped at ``VISITDESK_SOLVE_MAX_SECONDS``) bounds its
CP-SAT stages, but not yet everything around them: the model is built, and a first-fit schedule
searched, before the clock is looked at. On most inputs that takes a second or two; on adversarial
ones (300 meetings each with 50–200 optional attendees) the first-fit pass alone ran for over
400 s with a 1-s limit — long after gunicorn's ``timeout`` had killed the worker with an HTML 500.

The guard turns that into an answer: if the solve is still running ``VISITDESK_SOLVE_GUARD_SECONDS``
after it began (10 s below gunicorn's timeout), a ``SIGALRM`` interrupts the Python code between
two bytecodes (a CP-SAT stage in native code ends first, by its own limit), the transaction of a
proposal rolls back, and the caller gets a 503 in the API's error shape saying to ask for less. A
signal can only be caught on the main thread — which is where gunicorn's sync workers serve
requests; elsewhere (a threaded development server) the guard steps aside.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException


class SolveOverrun(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "solve_overrun"
    default_detail = ("The solver could not finish in the time this server allows a request. Ask for less: fewer "
                      "meetings, fewer attendees per meeting, fewer days or a coarser grid.")


@contextmanager
def solve_guard(seconds: float | None = None) -> Iterator[None]:
    seconds = settings.VISITDESK_SOLVE_GUARD_SECONDS if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def overrun(signum: int, frame: FrameType | None) -> None:
        raise SolveOverrun()

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
