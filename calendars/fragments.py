"""Writing the fragment store: render each meeting's stored VEVENTs once per change, never twice at once.

Feeds join stored fragments (``MeetingICal``); this module is how they get there:

* **on write** — after a change commits, ``schedule_changed`` queues ``calendars.render_fragments``
  for its meetings, and the worker renders them (``receivers``, ``tasks``);
* **after a deployment** that changes the renderer or the settings baked into fragments —
  ``manage.py render_calendar_fragments`` renders every stale fragment in the feed window;
* **on read, bounded** — a feed that still finds stale fragments renders up to
  ``VISITDESK_FEED_RENDER_ON_READ`` of them itself (so a feed is always correct right after a
  change, before the worker ran); more than that and it answers 503 with Retry-After and queues
  the rest for the worker instead of keeping a request busy for seconds.

No two processes render the same fragment at the same time: each chunk is rendered in one
transaction holding a PostgreSQL advisory lock per meeting (taken in id order, so two writers
never deadlock), and what is still stale is re-read *after* the locks are held, so whoever waited
for another writer finds its work done and renders nothing. SQLite serialises writers anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, Q, Value, When

from events import ical
from events.models import Meeting
from events.selectors import feed_window_q, meeting_list

logger = logging.getLogger(__name__)

#: First key of the two-key advisory locks (``pg_advisory_xact_lock(int, int)``): "vd" + 1.
LOCK_CLASS = 0x76640001
CHUNK = ical.RENDER_CHUNK


def _current_q() -> Q:
    return Q(ical__version=ical.fragment_version(), ical__rendered_for=F("updated_at"))


def stale_ids(meeting_ids: Iterable[int] | None = None) -> list[int]:
    """Meetings (of ``meeting_ids``, or all in the feed window) whose stored fragment is missing or outdated."""
    meetings = Meeting.objects.all() if meeting_ids is None else Meeting.objects.filter(pk__in=list(meeting_ids))
    if meeting_ids is None:
        meetings = meetings.filter(feed_window_q())
    return list(
        meetings.order_by("pk")
        .annotate(current=Case(When(_current_q(), then=Value(True)), default=Value(False), output_field=BooleanField()))
        .filter(current=False)
        .values_list("pk", flat=True)
    )


def _lock(ids: list[int]) -> None:
    """Hold an advisory lock per meeting until the transaction ends (PostgreSQL only), in id order."""
    if connection.vendor != "postgresql" or not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, (id %% 2147483647)::int) "
            "FROM (SELECT unnest(%s::bigint[]) AS id ORDER BY 1) AS ordered",
            [LOCK_CLASS, sorted(ids)],
        )


def render(meeting_ids: Iterable[int]) -> int:
    """Render and store the fragments of those ``meeting_ids`` that are stale; returns how many.

    Chunk by chunk (each committed on its own, so a long run that is stopped keeps what it did).
    """
    ids = sorted(set(meeting_ids))
    rendered = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        with transaction.atomic():
            _lock(chunk)
            still_stale = stale_ids(chunk)  # another writer may have rendered them while we waited
            if still_stale:
                ical.fragments_refresh(list(meeting_list().filter(pk__in=still_stale)))
                rendered += len(still_stale)
    return rendered


def render_all_stale() -> int:
    """Every stale fragment in the feed window (the deployment command and the beat safety net)."""
    return render(stale_ids())


class TooManyStale(Exception):
    """More stale fragments than a request may render; the worker was asked to render them."""

    def __init__(self, count: int):
        super().__init__(f"{count} calendar entries are being prepared")
        self.count = count


def render_on_read(meeting_ids: list[int]) -> None:
    """The read path's bounded fallback: render a few stale fragments now, or hand many to the worker."""
    limit = settings.VISITDESK_FEED_RENDER_ON_READ
    if len(meeting_ids) > limit:
        from .tasks import render_fragments_later

        render_fragments_later(meeting_ids)
        raise TooManyStale(len(meeting_ids))
    render(meeting_ids)
