"""Reads: busy intervals per person and room, and free slots, computed by the database.

On PostgreSQL one query does the interval arithmetic with ranges and multiranges: each person's busy
time is ``range_agg`` of their scheduled meetings, absences and imported busy times, plus the window
minus their working hours (``-``), clipped to the window (``*``); free slots are the window minus
everyone's busy time, intersected with each room's free time, cut into slots on the requested grid
by ``generate_series``. Wall-clock patterns (working and bookable hours) are expanded to instants in
Python first (``availability.hours``), so both paths read DST the same way.

On SQLite (the zero-set-up default) the same answers come from plain interval arithmetic in Python
(``availability.intervals``); tests compare the two paths.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from events.models import Meeting, Participation, Room

from . import hours
from . import intervals as iv
from .holidays import holiday_spans
from .models import Absence, ExternalBusy, RoomClosure

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusyMap:
    """Merged, sorted, half-open UTC intervals clipped to the window; every requested id present."""

    people: dict[int, list[Interval]] = field(default_factory=dict)
    rooms: dict[int, list[Interval]] = field(default_factory=dict)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    rooms: list[int]


def _ids(values: Iterable[int]) -> list[int]:
    return sorted({int(v) for v in values})


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("aware datetimes only")
    return value.astimezone(UTC)


def _room_limits(room_ids: Sequence[int], start: datetime, end: datetime,
                 ) -> tuple[dict[int, hours.WeekPattern], dict[int, list[Interval]]]:
    """Each room's bookable-hours pattern (rooms bookable any time have none) and its venue's public
    holidays inside [start, end) as closed whole days: one query for both."""
    patterns, closed = {}, {}
    holidays: dict[tuple[str, str, str], list[Interval]] = {}
    for pk, zone, a, b, country, subdivision in Room.objects.filter(pk__in=room_ids).values_list(
        "pk", "venue__timezone", "bookable_from", "bookable_until", "venue__country", "venue__subdivision"
    ):
        pattern = hours.room_pattern(zone=zone, bookable_from=a, bookable_until=b)
        if pattern is not None:
            patterns[pk] = pattern
        if country:
            key = (country, subdivision, zone)
            if key not in holidays:
                holidays[key] = holiday_spans(country=country, subdivision=subdivision, zone=zone, start=start, end=end)
            if holidays[key]:
                closed[pk] = holidays[key]
    return patterns, closed


def _use_postgres(engine: str | None) -> bool:
    if engine is None:
        return connection.vendor == "postgresql"
    return engine == "postgres"


# --- busy intervals ----------------------------------------------------------------------------


def busy_intervals(
    *,
    people: Iterable[int] = (),
    rooms: Iterable[int] = (),
    start: datetime,
    end: datetime,
    exclude_meetings: Iterable[int] = (),
    engine: str | None = None,
) -> BusyMap:
    """When each person and room is busy inside [start, end).

    A person is busy outside their working hours (if any are set), during absences, in imported busy
    times and in every scheduled meeting they take part in (any role); a room outside its bookable
    hours (its venue's local time), during closures, on its venue's public holidays
    (``availability.holidays``) and in scheduled meetings held there. Meetings in
    ``exclude_meetings`` are ignored (the one being moved). ``engine`` ("postgres"/"python") is for
    tests; the default follows the database.
    """
    start, end = _utc(start), _utc(end)
    people_ids, room_ids, excluded = _ids(people), _ids(rooms), _ids(exclude_meetings)
    if start >= end:
        return BusyMap(people={p: [] for p in people_ids}, rooms={r: [] for r in room_ids})
    if _use_postgres(engine):
        return _busy_postgres(people_ids, room_ids, start, end, excluded)
    return _busy_python(people_ids, room_ids, start, end, excluded)


def _busy_python(people_ids: Sequence[int], room_ids: Sequence[int], start: datetime, end: datetime, excluded: Sequence[int]) -> BusyMap:
    pieces: dict[int, list[Interval]] = defaultdict(list)
    if people_ids:
        for pid, a, b in (
            Participation.objects.filter(person_id__in=people_ids, meeting__status=Meeting.Status.SCHEDULED,
                                         meeting__starts_at__lt=end, meeting__ends_at__gt=start)
            .exclude(meeting_id__in=excluded)
            .values_list("person_id", "meeting__starts_at", "meeting__ends_at")
        ):
            pieces[pid].append((a, b))
        for model in (Absence, ExternalBusy):
            for pid, a, b in model.objects.filter(person_id__in=people_ids, starts_at__lt=end, ends_at__gt=start
                                                  ).values_list("person_id", "starts_at", "ends_at"):
                pieces[pid].append((a, b))
    patterns = hours.person_patterns(people_ids)
    window = [(start, end)]
    result_people = {}
    for pid in people_ids:
        busy = iv.normalize(pieces.get(pid, []))
        if pid in patterns:
            busy = iv.union(busy, iv.subtract(window, iv.normalize(hours.open_hours(patterns[pid], start, end))))
        result_people[pid] = iv.clip(busy, start, end)

    room_pieces: dict[int, list[Interval]] = defaultdict(list)
    if room_ids:
        for rid, a, b in (
            Meeting.objects.filter(room_id__in=room_ids, status=Meeting.Status.SCHEDULED,
                                   starts_at__lt=end, ends_at__gt=start)
            .exclude(pk__in=excluded)
            .values_list("room_id", "starts_at", "ends_at")
        ):
            room_pieces[rid].append((a, b))
        for rid, a, b in RoomClosure.objects.filter(room_id__in=room_ids, starts_at__lt=end, ends_at__gt=start
                                                    ).values_list("room_id", "starts_at", "ends_at"):
            room_pieces[rid].append((a, b))
    room_patterns, holidays = _room_limits(room_ids, start, end) if room_ids else ({}, {})
    for rid, spans in holidays.items():
        room_pieces[rid].extend(spans)
    result_rooms = {}
    for rid in room_ids:
        busy = iv.normalize(room_pieces.get(rid, []))
        if rid in room_patterns:
            busy = iv.union(busy, iv.subtract(window, hours.expand(room_patterns[rid], start, end)))
        result_rooms[rid] = iv.clip(busy, start, end)
    return BusyMap(people=result_people, rooms=result_rooms)


_BUSY_CTES = """
WITH win AS (SELECT tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)') AS w),
ppl AS (SELECT unnest(%(people)s::bigint[]) AS id),
rms AS (SELECT unnest(%(rooms)s::bigint[]) AS id),
plimit AS (
    SELECT l.id, coalesce(range_agg(tstzrange(f.lo, f.hi, '[)')) FILTER (WHERE f.lo IS NOT NULL),
                          '{}'::tstzmultirange) AS open
    FROM unnest(%(p_limited)s::bigint[]) AS l(id)
    LEFT JOIN unnest(%(p_open_id)s::bigint[], %(p_open_lo)s::timestamptz[], %(p_open_hi)s::timestamptz[])
        AS f(id, lo, hi) ON f.id = l.id
    GROUP BY l.id
),
rlimit AS (
    SELECT l.id, coalesce(range_agg(tstzrange(f.lo, f.hi, '[)')) FILTER (WHERE f.lo IS NOT NULL),
                          '{}'::tstzmultirange) AS open
    FROM unnest(%(r_limited)s::bigint[]) AS l(id)
    LEFT JOIN unnest(%(r_open_id)s::bigint[], %(r_open_lo)s::timestamptz[], %(r_open_hi)s::timestamptz[])
        AS f(id, lo, hi) ON f.id = l.id
    GROUP BY l.id
),
pagg AS (
    SELECT id, range_agg(r) AS mr FROM (
        -- chair/host/presenter of a scheduled meeting: the participation carries the meeting's range
        -- (kept in step by events.services) and the exclusion constraint's GiST index covers it
        SELECT pa.person_id AS id, tstzrange(pa.starts_at, pa.ends_at) AS r
        FROM events_participation pa
        WHERE pa.blocks_time AND pa.person_id = ANY(%(people)s::bigint[])
          AND tstzrange(pa.starts_at, pa.ends_at) && tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)')
          AND pa.meeting_id <> ALL(%(exclude)s::bigint[])
        UNION ALL
        -- any other role (guests) in a scheduled meeting
        SELECT pa.person_id, tstzrange(m.starts_at, m.ends_at)
        FROM events_participation pa JOIN events_meeting m ON m.id = pa.meeting_id
        WHERE NOT pa.blocks_time AND pa.person_id = ANY(%(people)s::bigint[]) AND m.status = 'scheduled'
          AND pa.starts_at < %(end)s::timestamptz AND pa.ends_at > %(start)s::timestamptz
          AND m.starts_at < %(end)s::timestamptz AND m.ends_at > %(start)s::timestamptz
          AND m.id <> ALL(%(exclude)s::bigint[])
        UNION ALL
        SELECT a.person_id, tstzrange(a.starts_at, a.ends_at, '[)')
        FROM availability_absence a
        WHERE a.person_id = ANY(%(people)s::bigint[])
          AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)')
        UNION ALL
        SELECT b.person_id, tstzrange(b.starts_at, b.ends_at, '[)')
        FROM availability_externalbusy b
        WHERE b.person_id = ANY(%(people)s::bigint[])
          AND tstzrange(b.starts_at, b.ends_at, '[)') && tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)')
    ) AS pieces
    GROUP BY id
),
ragg AS (
    SELECT id, range_agg(r) AS mr FROM (
        SELECT m.room_id AS id, tstzrange(m.starts_at, m.ends_at) AS r
        FROM events_meeting m
        WHERE m.room_id = ANY(%(rooms)s::bigint[]) AND m.room_id IS NOT NULL AND m.status = 'scheduled'
          AND tstzrange(m.starts_at, m.ends_at) && tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)')
          AND m.id <> ALL(%(exclude)s::bigint[])
        UNION ALL
        SELECT c.room_id, tstzrange(c.starts_at, c.ends_at, '[)')
        FROM availability_roomclosure c
        WHERE c.room_id = ANY(%(rooms)s::bigint[])
          AND tstzrange(c.starts_at, c.ends_at, '[)') && tstzrange(%(start)s::timestamptz, %(end)s::timestamptz, '[)')
        UNION ALL
        -- public holidays at the room's venue (availability.holidays), whole local days
        SELECT h.id, tstzrange(h.lo, h.hi, '[)')
        FROM unnest(%(r_hol_id)s::bigint[], %(r_hol_lo)s::timestamptz[], %(r_hol_hi)s::timestamptz[]) AS h(id, lo, hi)
    ) AS pieces
    GROUP BY id
),
pbusy AS (
    SELECT p.id, (coalesce(a.mr, '{}'::tstzmultirange)
                  + coalesce(tstzmultirange(win.w) - l.open, '{}'::tstzmultirange)) * tstzmultirange(win.w) AS mr
    FROM ppl p CROSS JOIN win LEFT JOIN pagg a ON a.id = p.id LEFT JOIN plimit l ON l.id = p.id
),
rbusy AS (
    SELECT rm.id, (coalesce(a.mr, '{}'::tstzmultirange)
                   + coalesce(tstzmultirange(win.w) - l.open, '{}'::tstzmultirange)) * tstzmultirange(win.w) AS mr
    FROM rms rm CROSS JOIN win LEFT JOIN ragg a ON a.id = rm.id LEFT JOIN rlimit l ON l.id = rm.id
)
"""


def _pattern_params(prefix: str, patterns: dict[int, hours.WeekPattern], start: datetime, end: datetime, *,
                    people: bool) -> dict[str, list[Any]]:
    ids: list[int] = []
    los: list[datetime] = []
    his: list[datetime] = []
    for pk, pattern in patterns.items():
        spans = hours.open_hours(pattern, start, end) if people else hours.expand(pattern, start, end)
        for a, b in spans:
            ids.append(pk)
            los.append(a)
            his.append(b)
    return {f"{prefix}_limited": sorted(patterns), f"{prefix}_open_id": ids, f"{prefix}_open_lo": los,
            f"{prefix}_open_hi": his}


def _pg_params(people_ids: Sequence[int], room_ids: Sequence[int], start: datetime, end: datetime, excluded: Sequence[int]) -> dict[str, Any]:
    room_patterns, closed = _room_limits(room_ids, start, end) if room_ids else ({}, {})
    holidays = [(rid, a, b) for rid, spans in closed.items() for a, b in spans]
    return {
        "start": start, "end": end, "people": people_ids, "rooms": room_ids, "exclude": excluded,
        **_pattern_params("p", hours.person_patterns(people_ids), start, end, people=True),
        **_pattern_params("r", room_patterns, start, end, people=False),
        "r_hol_id": [h[0] for h in holidays], "r_hol_lo": [h[1] for h in holidays], "r_hol_hi": [h[2] for h in holidays],
    }


def _busy_postgres(people_ids: Sequence[int], room_ids: Sequence[int], start: datetime, end: datetime, excluded: Sequence[int]) -> BusyMap:
    sql = "".join((_BUSY_CTES, """
        SELECT 'p', id, lower(r), upper(r) FROM pbusy, unnest(pbusy.mr) AS r
        UNION ALL
        SELECT 'r', id, lower(r), upper(r) FROM rbusy, unnest(rbusy.mr) AS r
        ORDER BY 1, 2, 3
    """))
    result_people: dict[int, list[Interval]] = {p: [] for p in people_ids}
    result_rooms: dict[int, list[Interval]] = {r: [] for r in room_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, _pg_params(people_ids, room_ids, start, end, excluded))
        for kind, pk, a, b in cursor.fetchall():
            (result_people if kind == "p" else result_rooms)[pk].append((_utc(a), _utc(b)))
    return BusyMap(people=result_people, rooms=result_rooms)


# --- free slots --------------------------------------------------------------------------------


def _grid_step_seconds(granularity: timedelta) -> int:
    """Every zone's UTC offset today is a whole multiple of 15 minutes, so a local grid of
    ``granularity`` lands on UTC instants that are multiples of gcd(granularity, 15 min)."""
    minutes = int(granularity.total_seconds() // 60)
    return math.gcd(minutes, 15) * 60


def _on_grid(t: datetime, zone: zoneinfo.ZoneInfo, granularity_minutes: int) -> bool:
    local = t.astimezone(zone)
    return local.second == 0 and (local.hour * 60 + local.minute) % granularity_minutes == 0


def free_slots(
    *,
    people: Iterable[int] = (),
    rooms: Iterable[int] = (),
    start: datetime,
    end: datetime,
    duration: timedelta,
    granularity: timedelta = timedelta(minutes=15),
    tz: str,
    exclude_meetings: Iterable[int] = (),
    engine: str | None = None,
) -> list[Slot]:
    """Slots of ``duration`` inside [start, end) when every person is free and, if rooms are given,
    at least one room is; each slot lists the rooms free for all of it.

    Slots start where the local clock in ``tz`` shows a multiple of ``granularity`` since midnight
    (09:00, 09:15, …); a slot lasts ``duration`` of real time, so across a DST change it may show
    01:30–03:30 on the wall clock for one hour, never a time that does not exist.
    """
    start, end = _utc(start), _utc(end)
    zone = zoneinfo.ZoneInfo(tz)
    people_ids, room_ids, excluded = _ids(people), _ids(rooms), _ids(exclude_meetings)
    if start >= end or duration <= timedelta(0) or duration > end - start:
        return []
    if _use_postgres(engine):
        return _slots_postgres(people_ids, room_ids, start, end, excluded, duration, granularity, tz)
    busy = _busy_python(people_ids, room_ids, start, end, excluded)
    window = [(start, end)]
    people_free = iv.subtract(window, iv.union(*busy.people.values()))
    candidates: list[tuple[int | None, tuple[datetime, datetime]]]
    if room_ids:
        candidates = [(rid, span) for rid in room_ids
                      for span in iv.intersect(people_free, iv.subtract(window, busy.rooms[rid]))]
    else:
        candidates = [(None, span) for span in people_free]
    step = _grid_step_seconds(granularity)
    g_minutes = int(granularity.total_seconds() // 60)
    found: dict[datetime, list[int]] = defaultdict(list)
    for rid, (a, b) in candidates:
        if b - a < duration:
            continue
        t = datetime.fromtimestamp(math.ceil(a.timestamp() / step) * step, tz=UTC)
        last = b - duration
        while t <= last:
            if _on_grid(t, zone, g_minutes):
                found.setdefault(t, [])
                if rid is not None:
                    found[t].append(rid)
            t += timedelta(seconds=step)
    return [Slot(starts_at=t, ends_at=t + duration, rooms=sorted(found[t])) for t in sorted(found)]


def _slots_postgres(people_ids: Sequence[int], room_ids: Sequence[int], start: datetime, end: datetime, excluded: Sequence[int],
                    duration: timedelta, granularity: timedelta, tz: str) -> list[Slot]:
    sql = "".join((_BUSY_CTES, """,
    pfree AS (
        SELECT tstzmultirange(win.w)
               - coalesce((SELECT range_agg(r) FROM pbusy, unnest(pbusy.mr) AS r), '{}'::tstzmultirange) AS mr
        FROM win
    ),
    cand AS (
        SELECT NULL::bigint AS room, r FROM pfree, unnest(pfree.mr) AS r WHERE NOT %(with_rooms)s
        UNION ALL
        SELECT rb.id, r FROM rbusy rb CROSS JOIN pfree CROSS JOIN win,
               unnest(pfree.mr * (tstzmultirange(win.w) - rb.mr)) AS r
        WHERE %(with_rooms)s
    ),
    starts AS (
        SELECT c.room, t
        FROM cand c,
             generate_series(to_timestamp(ceil(extract(epoch FROM lower(c.r)) / %(step)s) * %(step)s),
                             upper(c.r) - %(duration)s::interval, %(step)s * interval '1 second') AS t
        WHERE upper(c.r) - lower(c.r) >= %(duration)s::interval
    )
    SELECT t, coalesce(array_agg(room ORDER BY room) FILTER (WHERE room IS NOT NULL), '{}')
    FROM starts
    WHERE (extract(hour FROM t AT TIME ZONE %(tz)s) * 60 + extract(minute FROM t AT TIME ZONE %(tz)s))::int
          %% %(g)s = 0
    GROUP BY t ORDER BY t
    """))
    params = _pg_params(people_ids, room_ids, start, end, excluded)
    params.update(with_rooms=bool(room_ids), step=_grid_step_seconds(granularity), duration=duration, tz=tz,
                  g=int(granularity.total_seconds() // 60))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Slot(starts_at=_utc(t), ends_at=_utc(t) + duration, rooms=list(r)) for t, r in rows]


# --- why someone is busy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Unavailable:
    """One stretch in which a person cannot take part, and why: ``absent`` (an absence),
    ``outside_working_hours``, ``busy_elsewhere`` (their own calendar) or ``in_meeting`` (``title``)."""

    person: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    title: str = ""


def unavailable_reasons(
    *, people: Iterable[int], start: datetime, end: datetime, exclude_meetings: Iterable[int] = (),
) -> dict[int, list[Unavailable]]:
    """Like ``busy_intervals`` for people, but each stretch keeps its cause, so a reader can say
    "Dr. X is away that day" instead of "busy". Four queries whatever the number of people."""
    start, end = _utc(start), _utc(end)
    ids, excluded = _ids(people), _ids(exclude_meetings)
    out: dict[int, list[Unavailable]] = {p: [] for p in ids}
    if not ids or start >= end:
        return out
    for pid, a, b in Absence.objects.filter(person_id__in=ids, starts_at__lt=end, ends_at__gt=start).values_list(
            "person_id", "starts_at", "ends_at"):
        out[pid].append(Unavailable(pid, a, b, "absent"))
    for pid, a, b in ExternalBusy.objects.filter(person_id__in=ids, starts_at__lt=end, ends_at__gt=start
                                                 ).values_list("person_id", "starts_at", "ends_at"):
        out[pid].append(Unavailable(pid, a, b, "busy_elsewhere"))
    for pid, a, b, title in (
        Participation.objects.filter(person_id__in=ids, meeting__status=Meeting.Status.SCHEDULED,
                                     meeting__starts_at__lt=end, meeting__ends_at__gt=start)
        .exclude(meeting_id__in=excluded)
        .values_list("person_id", "meeting__starts_at", "meeting__ends_at", "meeting__title")
    ):
        out[pid].append(Unavailable(pid, a, b, "in_meeting", title))
    for pid, pattern in hours.person_patterns(ids).items():
        closed = iv.subtract([(start, end)], iv.normalize(hours.open_hours(pattern, start, end)))
        out[pid].extend(Unavailable(pid, a, b, "outside_working_hours") for a, b in closed)
    for spans in out.values():
        spans.sort(key=lambda u: (u.starts_at, u.ends_at, u.reason))
    return out
