"""The fragment store: each meeting's VEVENTs rendered once per change, never twice at once, and
feed bodies joined from them (``render_cached_feed``, with the validator's ``feed_state``).

Feeds join stored fragments (``MeetingICal``); this module is also how they get there:

* **on write** — after a change commits, ``schedule_changed`` asks for one coalesced
  ``calendars.render_stale`` task (``render_queue``: never more than one waiting), and the worker
  renders whatever is stale when it runs (``receivers``, ``tasks``);
* **after a deployment** that changes the renderer or the settings baked into fragments —
  ``manage.py render_calendar_fragments`` renders every stale fragment in the feed window;
* **on read, bounded** — a feed that still finds stale fragments renders up to
  ``VISITDESK_FEED_RENDER_ON_READ`` of them itself (so a feed is always correct right after a
  change, before the worker ran); more than that and it answers 503 with Retry-After and asks the
  worker (coalesced, like on write) instead of keeping a request busy for seconds.

No two processes render the same fragment at the same time: each chunk is rendered in one
transaction holding a PostgreSQL advisory lock per meeting (taken in id order, so two writers
never deadlock), and what is still stale is re-read *after* the locks are held, so whoever waited
for another writer finds its work done and renders nothing. SQLite serialises writers anyway.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, QuerySet, Sum, TextField, Value, When

from events.models import Meeting
from events.selectors import feed_window_q, meeting_list

from . import ical
from .ical import (
    _UTC_NAMES,
    AUDIENCES,
    PRIVATE,
    PUBLIC,
    RENDER_CHUNK,
    _tz_ranges,
    assemble_feed,
    meeting_vevent,
    with_url,
)
from .models import MeetingICal
from .snapshot import meeting_data

logger = logging.getLogger(__name__)

#: First key of the two-key advisory locks (``pg_advisory_xact_lock(int, int)``): "vd" + 1.
LOCK_CLASS = 0x76640001
CHUNK = RENDER_CHUNK


def _current_q() -> Q:
    return Q(ical__version=fragment_version(), ical__rendered_for=F("updated_at"))


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
                fragments_refresh(list(meeting_list().filter(pk__in=still_stale)))
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
    """The read path's bounded fallback: render a few stale fragments now, or hand many to the worker.

    Handing over is the coalesced ``render_stale_soon``: while a render task is already queued (the
    usual case during an import, with every subscriber polling), a read queues nothing more.
    """
    limit = settings.VISITDESK_FEED_RENDER_ON_READ
    if len(meeting_ids) > limit:
        from .tasks import render_stale_soon

        render_stale_soon(countdown=0)
        raise TooManyStale(len(meeting_ids))
    render(meeting_ids)


# --- the store: fragments in, feed bodies out -------------------------------------------------




def fragment_version() -> str:
    """Stored fragments depend on the renderer and on the settings baked into them."""
    basis = "|".join([ical.RENDERER_VERSION, settings.SITE_URL, settings.VISITDESK_ORGANIZER_EMAIL,
                      settings.VISITDESK_ORGANIZER_NAME])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def fragments_refresh(meetings: Sequence[Meeting]) -> dict[int, MeetingICal]:
    """Render both audiences of ``meetings`` (``meeting_list()`` rows) and store them; one upsert."""
    version = fragment_version()
    data = [meeting_data(m) for m in meetings]
    rows = [
        MeetingICal(
            meeting_id=m.id,
            version=version,
            rendered_for=m.updated_at,
            public=meeting_vevent(m, audience=PUBLIC).to_ical().decode(),
            private=meeting_vevent(m, audience=PRIVATE).to_ical().decode(),
        )
        for m in data
    ]
    MeetingICal.objects.bulk_create(
        rows, batch_size=RENDER_CHUNK, update_conflicts=True, unique_fields=["meeting"],
        update_fields=["version", "rendered_for", "public", "private"],
    )
    return {row.meeting_id: row for row in rows}


@dataclass(frozen=True)
class FeedState:
    """What a feed's validator and its VTIMEZONEs depend on, read in one grouped aggregate query.

    A change to a meeting or its participants moves ``last_change`` (services touch
    ``updated_at``); a meeting entering or leaving the feed changes ``count`` or ``id_sum``.
    """

    last_change: datetime | None
    count: int
    id_sum: int
    tz_ranges: dict[str, tuple[int, int]]

    def etag_basis(self) -> str:
        stamp = self.last_change.isoformat() if self.last_change else "-"
        return f"{ical.RENDERER_VERSION}|{fragment_version()}|{stamp}|{self.count}|{self.id_sum}"


def feed_state(meetings: QuerySet[Meeting]) -> FeedState:
    groups = (
        Meeting.objects.filter(pk__in=meetings.values("pk"))
        .order_by()
        .values("timezone")
        .annotate(last=Max("updated_at"), count=Count("pk"), ids=Sum("pk"), first=Min("starts_at"), until=Max("ends_at"))
    )
    last, count, ids, ranges = None, 0, 0, []
    for group in groups:
        last = group["last"] if last is None else max(last, group["last"])
        count += group["count"]
        ids += int(group["ids"])
        tzid = None if group["timezone"] in _UTC_NAMES else group["timezone"]
        ranges.append((tzid, group["first"], group["until"]))
    return FeedState(last_change=last, count=count, id_sum=ids, tz_ranges=_tz_ranges(ranges))


def render_cached_feed(meetings: QuerySet[Meeting], *, name: str, audience: str = PRIVATE, description: str = "",
                       state: FeedState | None = None, link: Callable[[int], str] | None = None) -> bytes:
    """``render_feed`` for a queryset, through the fragment store: a constant number of queries.
    ``link(meeting_id) -> url``: the reader's VEVENT URL, spliced into each stored fragment.

    One query reads every meeting's stored fragment where it is still current (NULL otherwise).
    Fragments are rendered on write (the worker, after commit); one still stale here is rendered by
    this read if there are few (``render_on_read``), else ``TooManyStale`` is raised. ``state``: the ``feed_state`` the
    caller already read for its validator (saves a query).
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    if state is None:
        state = feed_state(meetings)
    current = Q(ical__version=fragment_version(), ical__rendered_for=F("updated_at"))
    rows = list(
        Meeting.objects.filter(pk__in=meetings.values("pk"))
        .order_by("pk")  # stable, and lets PostgreSQL merge-join on primary keys instead of sorting 10 MB of text
        .annotate(fragment=Case(When(current, then=F(f"ical__{audience}")), default=Value(None),
                                output_field=TextField()))
        .values_list("pk", "timezone", "fragment")
    )
    stale = [pk for pk, _tz, fragment in rows if fragment is None]
    if stale:
        # Normally the worker rendered them after the change committed; this is the bounded fallback
        # (``render_on_read``: a few here under the per-meeting locks, many → TooManyStale → 503).
        render_on_read(stale)
        fresh = dict(MeetingICal.objects.filter(meeting_id__in=stale).values_list("meeting_id", audience))
        rows = [(pk, tz, fresh[pk] if fragment is None else fragment) for pk, tz, fragment in rows]
    used = {tz for _pk, tz, _f in rows if tz not in _UTC_NAMES}
    if not used <= set(state.tz_ranges):
        state = feed_state(meetings)  # a meeting arrived between the two reads: every TZID needs its VTIMEZONE
    if link is not None and audience == PRIVATE:
        rows = [(pk, tz, with_url(fragment, link(pk))) for pk, tz, fragment in rows]
    body = "".join(fragment for _pk, _tz, fragment in rows).encode()
    tz_ranges = {tz: years for tz, years in state.tz_ranges.items() if tz in used}
    return assemble_feed([body], tz_ranges=tz_ranges, name=name, description=description)
