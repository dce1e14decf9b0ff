"""The rules of a good visit programme, each with a name, and the one check every reader uses.

A programme is plain data here (``Programme``: its entries, the delegation, the rooms, who is busy
why, the venue's holidays), so the same check runs over a proposal's items (``scheduling.check``
builds it), over a visit's booked meetings (``programme_for_visit``) and over a hand edit (the API's
meeting answers, the planner's status line, the visit page and the Meeting admin read
``visit_check``). The check never refuses anything: the booking module saves a hand edit that breaks a
rule, and the readers list what it breaks. The solver keeps the same rules as hard constraints
(``scheduling.programme`` and ``scheduling.model``); what it cannot keep is reported by this check.

The rules (ids are stable; the sentences are in the visit's language):

``welcome-first``    the welcome opens the visit: nothing starts before it ends;
``wrap-up-last``     the wrap-up closes it: nothing (the last day's lunch included) ends after it starts;
``lunch``            each day whose programme runs across midday has a lunch inside the lunch window
                     (``VISITDESK_LUNCH_WINDOW``, default 11:30–14:00);
``lunch-room``       a lunch is in a room (a dining room modelled as a room) that holds everyone invited;
``lunch-host``       at least one person of the centre (anyone outside the delegation) joins each lunch;
``breaks``           nobody of the delegation sits in meetings longer than ``VISITDESK_BREAK_AFTER_MINUTES``
                     (150) without a break of ``VISITDESK_BREAK_MINUTES`` (15); a lunch or break is one;
``walking-gap``      consecutive meetings of one person in different buildings (venues) leave
                     ``VISITDESK_WALKING_GAP_MINUTES`` (10) to walk;
``available``        nobody invited, required or optional, is absent, outside working hours, busy in
                     their own calendar or in another meeting — the reason names them;
``holiday``          no programme day is a public holiday at the venue (``availability.holidays``);
``smallest-room``    a meeting is in the smallest free room that fits (in its building; dining rooms for
                     lunch, others for meetings) unless the coordinator chose the room (pinned, or booked
                     by hand — every booked meeting's room counts as chosen);
``same-host-topics`` topics with the same host are on the same day, and one session when together they
                     fit ``VISITDESK_MERGE_TOPICS_MINUTES`` (120).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.translation import gettext, ngettext

from availability.holidays import holidays_between
from availability.selectors import Unavailable, busy_intervals, unavailable_reasons
from events.models import Meeting, Participation, Room

from .models import ProgrammeKind, Visit

Interval = tuple[datetime, datetime]

WELCOME_FIRST = "welcome-first"
WRAP_UP_LAST = "wrap-up-last"
LUNCH = "lunch"
LUNCH_ROOM = "lunch-room"
LUNCH_HOST = "lunch-host"
BREAKS = "breaks"
WALKING_GAP = "walking-gap"
AVAILABLE = "available"
HOLIDAY = "holiday"
SMALLEST_ROOM = "smallest-room"
SAME_HOST = "same-host-topics"
RULE_IDS = (WELCOME_FIRST, WRAP_UP_LAST, LUNCH, LUNCH_ROOM, LUNCH_HOST, BREAKS, WALKING_GAP, AVAILABLE, HOLIDAY,
            SMALLEST_ROOM, SAME_HOST)


def rule_title(rule: str) -> str:
    """The rule in one line, in the active language."""
    s = settings_rules()
    titles = {
        WELCOME_FIRST: gettext("The welcome opens the visit"),
        WRAP_UP_LAST: gettext("The wrap-up closes the visit, after the last lunch"),
        LUNCH: gettext("Lunch every day that runs across midday, inside %(start)s–%(end)s") % {
            "start": f"{s.lunch_start:%H:%M}", "end": f"{s.lunch_end:%H:%M}"},
        LUNCH_ROOM: gettext("Lunch in a room that holds everyone"),
        LUNCH_HOST: gettext("Someone of the centre joins every lunch"),
        BREAKS: gettext("A %(pause)s break after at most %(work)s of meetings") % {
            "pause": minutes_text(s.break_minutes), "work": minutes_text(s.break_after_minutes)},
        WALKING_GAP: gettext("%(gap)s to walk between buildings") % {"gap": minutes_text(s.walking_gap_minutes)},
        AVAILABLE: gettext("Nobody is invited while away, off work or busy"),
        HOLIDAY: gettext("No programme on a public holiday at the venue"),
        SMALLEST_ROOM: gettext("The smallest free room that fits"),
        SAME_HOST: gettext("Topics with the same host on one day, as one session when they fit"),
    }
    return titles[rule]


def minutes_text(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    if h and m:
        return gettext("%(h)s h %(m)s min") % {"h": h, "m": m}
    return gettext("%(h)s h") % {"h": h} if h else gettext("%(m)s min") % {"m": m}


# --- the settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSettings:
    lunch_start: time = time(11, 30)
    lunch_end: time = time(14, 0)
    break_after_minutes: int = 150
    break_minutes: int = 15
    walking_gap_minutes: int = 10
    merge_topics_minutes: int = 120


def settings_rules() -> RuleSettings:
    """The rules' numbers from the settings (``VISITDESK_LUNCH_WINDOW`` etc., checked at start-up)."""
    start, end = (time.fromisoformat(part.strip().zfill(5)) for part in settings.VISITDESK_LUNCH_WINDOW.split("-"))
    return RuleSettings(lunch_start=start, lunch_end=end, break_after_minutes=settings.VISITDESK_BREAK_AFTER_MINUTES,
                        break_minutes=settings.VISITDESK_BREAK_MINUTES,
                        walking_gap_minutes=settings.VISITDESK_WALKING_GAP_MINUTES,
                        merge_topics_minutes=settings.VISITDESK_MERGE_TOPICS_MINUTES)


# --- a programme as plain data -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One item or meeting of a programme. ``key`` names it in violations ("item-12", "meeting-34")."""

    key: str
    title: str
    kind: str  # a ProgrammeKind value, or "" for any other meeting
    starts_at: datetime
    ends_at: datetime
    room: int | None = None
    location: str = ""
    #: Everyone invited, and those who must be there (hosts, chairs, the delegation).
    people: tuple[int, ...] = ()
    required: tuple[int, ...] = ()
    #: A topic meeting's host(s) and topics (for ``same-host-topics``).
    hosts: tuple[int, ...] = ()
    topics: tuple[int, ...] = ()
    #: Seats it needs (the delegation's size counts, not only its named members); 0: everyone invited.
    seats: int = 0
    #: The coordinator chose the room (pinned, or booked by hand): ``smallest-room`` does not apply.
    room_chosen: bool = False

    @property
    def is_break(self) -> bool:
        return self.kind in (ProgrammeKind.LUNCH, ProgrammeKind.BREAK)

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass(frozen=True)
class RoomInfo:
    id: int
    name: str
    capacity: int
    venue: int
    dining: bool = False


@dataclass(frozen=True)
class Programme:
    timezone: str
    entries: tuple[Entry, ...]
    delegation: frozenset[int] = frozenset()
    delegation_size: int = 0
    #: Rooms the programme may use (the visit venue's), and when each is busy outside this programme.
    rooms: Mapping[int, RoomInfo] = field(default_factory=dict)
    room_busy: Mapping[int, Sequence[Interval]] = field(default_factory=dict)
    #: Why each person is busy outside this programme (``availability.selectors.unavailable_reasons``).
    unavailable: Mapping[int, Sequence[Unavailable]] = field(default_factory=dict)
    holidays: Mapping[date, str] = field(default_factory=dict)
    names: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    rule: str
    entries: tuple[str, ...]
    message: str
    people: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "entries": list(self.entries), "people": list(self.people),
                "message": self.message}


@dataclass(frozen=True)
class RuleResult:
    rule: str
    title: str
    violations: tuple[Violation, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "kept": self.kept,
                "violations": [v.to_json() for v in self.violations]}


def broken(results: Iterable[RuleResult]) -> list[Violation]:
    return [v for r in results for v in r.violations]


# --- the check -------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, programme: Programme, rules: RuleSettings):
        self.p, self.r = programme, rules
        self.zone = zoneinfo.ZoneInfo(programme.timezone)
        self.entries = sorted(programme.entries, key=lambda e: (e.starts_at, e.ends_at, e.key))

    # words ---------------------------------------------------------------------------------------

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def day_of(self, e: Entry) -> date:
        return self.local(e.starts_at).date()

    def when(self, e: Entry) -> str:
        a, b = self.local(e.starts_at), self.local(e.ends_at)
        return f"{dateformat.format(a, 'D j M')} {a:%H:%M}–{b:%H:%M}"

    def day_text(self, d: date) -> str:
        return dateformat.format(d, "D j M")

    def name(self, person: int) -> str:
        return self.p.names.get(person) or gettext("person %(id)s") % {"id": person}

    def room_name(self, room: int) -> str:
        info = self.p.rooms.get(room)
        return info.name if info else gettext("room %(id)s") % {"id": room}

    def seats(self, e: Entry) -> int:
        return e.seats or len(set(e.people))

    # rules ---------------------------------------------------------------------------------------

    def welcome_first(self) -> list[Violation]:
        welcomes = [e for e in self.entries if e.kind == ProgrammeKind.WELCOME]
        if not self.entries:
            return []
        if not welcomes:
            return [Violation(WELCOME_FIRST, (), gettext("The programme has no welcome yet."))]
        welcome = welcomes[0]
        early = [e for e in self.entries if e is not welcome and e.starts_at < welcome.ends_at]
        return [Violation(WELCOME_FIRST, (e.key, welcome.key), gettext(
            "“%(title)s” (%(when)s) starts before the welcome ends (%(welcome)s).") % {
            "title": e.title, "when": self.when(e), "welcome": self.when(welcome)}) for e in early]

    def wrap_up_last(self) -> list[Violation]:
        wraps = [e for e in self.entries if e.kind == ProgrammeKind.WRAP_UP]
        if not self.entries:
            return []
        if not wraps:
            return [Violation(WRAP_UP_LAST, (), gettext("The programme has no wrap-up yet."))]
        wrap = wraps[-1]
        late = [e for e in self.entries if e is not wrap and e.ends_at > wrap.starts_at]
        return [Violation(WRAP_UP_LAST, (e.key, wrap.key), gettext(
            "“%(title)s” (%(when)s) ends after the wrap-up starts (%(wrap)s).") % {
            "title": e.title, "when": self.when(e), "wrap": self.when(wrap)}) for e in late]

    def lunch(self) -> list[Violation]:
        out = []
        by_day: dict[date, list[Entry]] = defaultdict(list)
        for e in self.entries:
            by_day[self.day_of(e)].append(e)
        window = f"{self.r.lunch_start:%H:%M}–{self.r.lunch_end:%H:%M}"
        for day, entries in sorted(by_day.items()):
            midday = datetime.combine(day, time(12), tzinfo=self.zone)
            others = [e for e in entries if not e.is_break]
            lunches = [e for e in entries if e.kind == ProgrammeKind.LUNCH]
            spans_midday = others and min(e.starts_at for e in others) < midday < max(e.ends_at for e in others)
            if spans_midday and not lunches:
                out.append(Violation(LUNCH, tuple(e.key for e in others), gettext(
                    "No lunch on %(day)s, though its programme runs across midday.") % {"day": self.day_text(day)}))
            lo = datetime.combine(day, self.r.lunch_start, tzinfo=self.zone)
            hi = datetime.combine(day, self.r.lunch_end, tzinfo=self.zone)
            for e in lunches:
                if e.starts_at < lo or e.ends_at > hi:
                    out.append(Violation(LUNCH, (e.key,), gettext(
                        "“%(title)s” (%(when)s) is outside the lunch window %(window)s.") % {
                        "title": e.title, "when": self.when(e), "window": window}))
        return out

    def lunch_room(self) -> list[Violation]:
        out = []
        for e in self.entries:
            if e.kind != ProgrammeKind.LUNCH:
                continue
            if e.room is None:
                out.append(Violation(LUNCH_ROOM, (e.key,), gettext(
                    "“%(title)s” (%(when)s) has no room, so nobody checked that everyone fits.") % {
                    "title": e.title, "when": self.when(e)}))
                continue
            info = self.p.rooms.get(e.room)
            if info is not None and info.capacity < self.seats(e):
                out.append(Violation(LUNCH_ROOM, (e.key,), gettext(
                    "“%(title)s” (%(when)s): %(room)s seats %(capacity)s, but %(n)s people come.") % {
                    "title": e.title, "when": self.when(e), "room": info.name, "capacity": info.capacity,
                    "n": self.seats(e)}))
        return out

    def lunch_host(self) -> list[Violation]:
        return [Violation(LUNCH_HOST, (e.key,), gettext(
            "Nobody of the centre joins “%(title)s” (%(when)s).") % {"title": e.title, "when": self.when(e)})
            for e in self.entries if e.kind == ProgrammeKind.LUNCH and not set(e.people) - self.p.delegation]

    def breaks(self) -> list[Violation]:
        limit = timedelta(minutes=self.r.break_after_minutes)
        pause = timedelta(minutes=self.r.break_minutes)
        found: dict[tuple[str, ...], set[int]] = {}
        for person in sorted(self.p.delegation):
            mine = [e for e in self.entries if person in e.people and not e.is_break]
            stretch: list[Entry] = []
            for e in [*mine, None]:
                if e is not None and stretch and e.starts_at - max(x.ends_at for x in stretch) < pause:
                    stretch.append(e)
                    continue
                if stretch and max(x.ends_at for x in stretch) - stretch[0].starts_at > limit:
                    found.setdefault(tuple(x.key for x in stretch), set()).add(person)
                stretch = [e] if e is not None else []
        by_key = {e.key: e for e in self.entries}
        out = []
        for keys, people in found.items():
            stretch = [by_key[k] for k in keys]
            a, b = stretch[0].starts_at, max(x.ends_at for x in stretch)
            out.append(Violation(BREAKS, keys, gettext(
                "%(titles)s: %(length)s of meetings without a %(pause)s break (%(day)s %(start)s–%(end)s).") % {
                "titles": ", ".join(f"“{x.title}”" for x in stretch),
                "length": minutes_text(int((b - a).total_seconds() // 60)),
                "pause": minutes_text(self.r.break_minutes), "day": self.day_text(self.local(a).date()),
                "start": f"{self.local(a):%H:%M}", "end": f"{self.local(b):%H:%M}"}, tuple(sorted(people))))
        return out

    def walking_gap(self) -> list[Violation]:
        gap = timedelta(minutes=self.r.walking_gap_minutes)
        if not gap:
            return []
        found: dict[tuple[str, str], set[int]] = {}
        people = {p for e in self.entries for p in e.required}
        for person in sorted(people):
            mine = [e for e in self.entries if person in e.required and e.room is not None]
            for x, y in pairwise(mine):
                vx, vy = self.p.rooms.get(x.room or 0), self.p.rooms.get(y.room or 0)
                if vx and vy and vx.venue != vy.venue and y.starts_at - x.ends_at < gap \
                        and self.day_of(x) == self.day_of(y):
                    found.setdefault((x.key, y.key), set()).add(person)
        by_key = {e.key: e for e in self.entries}
        return [Violation(WALKING_GAP, keys, gettext(
            "“%(first)s” in %(a)s and “%(second)s” in %(b)s are in different buildings with less than %(gap)s "
            "between them.") % {"first": by_key[keys[0]].title, "a": self.room_name(by_key[keys[0]].room or 0),
                                "second": by_key[keys[1]].title, "b": self.room_name(by_key[keys[1]].room or 0),
                                "gap": minutes_text(self.r.walking_gap_minutes)}, tuple(sorted(who)))
            for keys, who in found.items()]

    def available(self) -> list[Violation]:
        out = []
        for e in self.entries:
            for person in dict.fromkeys(e.people):
                why = why_unavailable(self.p, e, person)
                if why:
                    out.append(Violation(AVAILABLE, (e.key,), gettext("“%(title)s” (%(when)s): %(why)s.") % {
                        "title": e.title, "when": self.when(e), "why": why}, (person,)))
        return out

    def holiday(self) -> list[Violation]:
        out = []
        by_day: dict[date, list[Entry]] = defaultdict(list)
        for e in self.entries:
            for d in {self.day_of(e), self.local(e.ends_at - timedelta(seconds=1)).date()}:
                by_day[d].append(e)
        for day, entries in sorted(by_day.items()):
            if day in self.p.holidays:
                out.append(Violation(HOLIDAY, tuple(e.key for e in entries), gettext(
                    "%(day)s is a public holiday at the venue (%(holiday)s), but %(n)s of the programme is on it.")
                    % {"day": self.day_text(day), "holiday": self.p.holidays[day],
                       "n": ngettext("%(count)s item", "%(count)s items", len(entries)) % {"count": len(entries)}}))
        return out

    def smallest_room(self) -> list[Violation]:
        out = []
        for e in self.entries:
            best = smaller_room(self.p, e)
            if best is not None:
                current = self.p.rooms[e.room or 0]
                out.append(Violation(SMALLEST_ROOM, (e.key,), gettext(
                    "“%(title)s” (%(when)s) is in %(room)s (%(capacity)s seats) for %(n)s people, while %(free)s "
                    "(%(free_capacity)s seats) is free.") % {
                    "title": e.title, "when": self.when(e), "room": current.name, "capacity": current.capacity,
                    "n": self.seats(e), "free": best.name, "free_capacity": best.capacity}))
        return out

    def same_host(self) -> list[Violation]:
        out = []
        topics = [e for e in self.entries if e.kind == ProgrammeKind.TOPIC and e.hosts]
        seen: set[tuple[str, str]] = set()
        for x in topics:
            for y in topics:
                if x.key >= y.key or (x.key, y.key) in seen:
                    continue
                shared = sorted(set(x.hosts) & set(y.hosts))
                if not shared:
                    continue
                seen.add((x.key, y.key))
                first, second = sorted((x, y), key=lambda e: (e.starts_at, e.key))
                values = {"first": first.title, "second": second.title, "host": self.name(shared[0])}
                if self.day_of(x) != self.day_of(y):
                    out.append(Violation(SAME_HOST, (first.key, second.key), gettext(
                        "“%(first)s” and “%(second)s” have the same host (%(host)s) but are on different days.")
                        % values, tuple(shared)))
                elif x.minutes + y.minutes <= self.r.merge_topics_minutes:
                    out.append(Violation(SAME_HOST, (first.key, second.key), gettext(
                        "“%(first)s” and “%(second)s” have the same host (%(host)s) and would fit one session of "
                        "%(length)s.") % {**values, "length": minutes_text(x.minutes + y.minutes)}, tuple(shared)))
        return out


def why_unavailable(programme: Programme, entry: Entry, person: int) -> str:
    """Why ``person`` cannot be at ``entry`` ("Dr. X is away that day"), or "" when they can: away,
    outside working hours, busy in their own calendar or in another meeting, in that order."""
    hits = [u for u in programme.unavailable.get(person, ())
            if u.starts_at < entry.ends_at and entry.starts_at < u.ends_at]
    if not hits:
        return ""
    order = ("absent", "outside_working_hours", "busy_elsewhere", "in_meeting")
    u = min(hits, key=lambda u: order.index(u.reason) if u.reason in order else len(order))
    who = programme.names.get(person) or gettext("person %(id)s") % {"id": person}
    zone = zoneinfo.ZoneInfo(programme.timezone)
    if u.reason == "absent":
        midnight = datetime.combine(entry.starts_at.astimezone(zone).date(), time(0), tzinfo=zone)
        if u.starts_at <= midnight + timedelta(hours=8) and u.ends_at >= midnight + timedelta(hours=18):
            return gettext("%(name)s is away that day") % {"name": who}
        return gettext("%(name)s is away %(start)s–%(end)s") % {
            "name": who, "start": f"{u.starts_at.astimezone(zone):%H:%M}", "end": f"{u.ends_at.astimezone(zone):%H:%M}"}
    if u.reason == "outside_working_hours":
        return gettext("%(name)s does not work at that time") % {"name": who}
    if u.reason == "busy_elsewhere":
        return gettext("%(name)s is busy in their own calendar then") % {"name": who}
    return gettext("%(name)s is in “%(title)s” then") % {"name": who, "title": u.title}


def entry_needs(programme: Programme, entry: Entry) -> int:
    return entry.seats or len(set(entry.people))


def smaller_room(programme: Programme, entry: Entry) -> RoomInfo | None:
    """The smallest room smaller than ``entry``'s that fits it and is free then, in the same building and
    of the same use (a dining room for lunch, another room for the rest, when the building has both);
    None when it already has the smallest or the coordinator chose its room."""
    if entry.room is None or entry.room_chosen or entry.room not in programme.rooms:
        return None
    current = programme.rooms[entry.room]
    same_building = [r for r in programme.rooms.values() if r.venue == current.venue]
    dining = entry.kind == ProgrammeKind.LUNCH
    pool = [r for r in same_building if r.dining == dining] or same_building
    needs = entry_needs(programme, entry)
    for r in sorted(pool, key=lambda r: (r.capacity, r.name, r.id)):
        if r.capacity >= current.capacity or r.capacity < needs:
            continue
        busy = any(a < entry.ends_at and entry.starts_at < b for a, b in programme.room_busy.get(r.id, ()))
        taken = any(o.key != entry.key and o.room == r.id and o.starts_at < entry.ends_at
                    and entry.starts_at < o.ends_at for o in programme.entries)
        if not busy and not taken:
            return r
    return None


CHECKS: dict[str, Callable[[_Checker], list[Violation]]] = {
    WELCOME_FIRST: _Checker.welcome_first, WRAP_UP_LAST: _Checker.wrap_up_last, LUNCH: _Checker.lunch,
    LUNCH_ROOM: _Checker.lunch_room, LUNCH_HOST: _Checker.lunch_host, BREAKS: _Checker.breaks,
    WALKING_GAP: _Checker.walking_gap, AVAILABLE: _Checker.available, HOLIDAY: _Checker.holiday,
    SMALLEST_ROOM: _Checker.smallest_room, SAME_HOST: _Checker.same_host,
}


def check(programme: Programme, *, rules: RuleSettings | None = None, language: str | None = None) -> list[RuleResult]:
    """Every rule, kept or with its violations, in ``language`` (the active one when None)."""
    checker = _Checker(programme, rules or settings_rules())
    with translation.override(language) if language else nullcontext():
        return [RuleResult(rule, rule_title(rule), tuple(CHECKS[rule](checker))) for rule in RULE_IDS]


# --- from the stored world ------------------------------------------------------------------------


def visit_rooms(visit: Visit) -> dict[int, RoomInfo]:
    """The rooms a visit's programme may use: its venue's, or every room when it has no venue."""
    rooms = Room.objects.filter(venue_id=visit.venue_id) if visit.venue_id else Room.objects.all()
    return {r.pk: RoomInfo(r.pk, r.name, r.capacity, r.venue_id, r.dining) for r in rooms}


def visit_holidays(visit: Visit, start: date, end: date, *, language: str | None = None) -> dict[date, str]:
    """Public holidays at the visit's venue in [start, end]; without a venue, at the one venue of the
    rooms it may use (none when they lie in several)."""
    from events.models import Venue

    venue = visit.venue if visit.venue_id else None
    if venue is None:
        venues = list(Venue.objects.filter(rooms__isnull=False).distinct()[:2])
        venue = venues[0] if len(venues) == 1 else None
    if venue is None or not venue.country:
        return {}
    return holidays_between(country=venue.country, subdivision=venue.subdivision, start=start, end=end,
                            language=language or visit.language)


def delegation_of(visit: Visit) -> tuple[frozenset[int], int]:
    members = frozenset({*visit.delegation.members.values_list("pk", flat=True), visit.contact_id})
    return members, max(visit.delegation.size, len(members))


def entry_seats(people: Iterable[int], delegation: frozenset[int], size: int) -> int:
    people = set(people)
    return len(people - delegation) + size if people & delegation else len(people)


def world_for(visit: Visit, entries: Sequence[Entry], *, exclude_meetings: Iterable[int] = (),
              names: Mapping[int, str] | None = None) -> Programme:
    """The programme ``entries`` of ``visit`` with the world it is checked against: who is busy why and
    which rooms are busy outside the programme (its own meetings in ``exclude_meetings``), the venue's
    holidays, the rooms, names. A handful of queries whatever its size."""
    from directory.models import Person

    delegation, size = delegation_of(visit)
    rooms = visit_rooms(visit)
    people = {p for e in entries for p in e.people}
    if not entries:
        return Programme(timezone=visit.timezone, entries=(), delegation=delegation, delegation_size=size,
                         rooms=rooms)
    start = min(e.starts_at for e in entries)
    end = max(e.ends_at for e in entries)
    excluded = list(exclude_meetings)
    unavailable = unavailable_reasons(people=people, start=start, end=end, exclude_meetings=excluded)
    room_busy = busy_intervals(rooms=list(rooms), start=start, end=end, exclude_meetings=excluded).rooms
    zone = zoneinfo.ZoneInfo(visit.timezone)
    holidays = visit_holidays(visit, start.astimezone(zone).date(), end.astimezone(zone).date())
    if names is None:
        names = dict(Person.objects.filter(pk__in=people).values_list("pk", "name"))
    return Programme(timezone=visit.timezone, entries=tuple(entries), delegation=delegation, delegation_size=size,
                     rooms=rooms, room_busy=room_busy, unavailable=unavailable, holidays=holidays, names=names)


def meeting_kind(meeting: Meeting, slot_kind: str) -> str:
    """The part a booked meeting plays: its programme slot's kind, else a meal is a lunch and a break a break."""
    if slot_kind:
        return slot_kind
    parts: dict[str, str] = {Meeting.Kind.MEAL: ProgrammeKind.LUNCH, Meeting.Kind.BREAK: ProgrammeKind.BREAK}
    return parts.get(meeting.kind, "")


def meeting_entry(meeting: Meeting, *, kind: str, delegation: frozenset[int], size: int) -> Entry:
    participations = list(meeting.participations.all())
    people = tuple(p.person_id for p in participations)
    # Whose time it occupies, as booking stored it (``visits.booking.blocking_people``).
    required = tuple(p.person_id for p in participations if p.blocks_time or p.person_id in delegation)
    hosts = tuple(p.person_id for p in participations if p.role == Participation.Role.HOST) if kind == ProgrammeKind.TOPIC \
        else ()
    return Entry(key=f"meeting-{meeting.pk}", title=meeting.title, kind=kind, starts_at=meeting.starts_at,
                 ends_at=meeting.ends_at, room=meeting.room_id, location=meeting.location, people=people,
                 required=required, hosts=hosts, topics=tuple(a.topic_id for a in meeting.agenda_items.all()
                                                              if a.topic_id),
                 seats=entry_seats(people, delegation, size), room_chosen=True)


def booked_entries(visit: Visit, *, exclude: Iterable[int] = ()) -> list[Entry]:
    """The visit's scheduled programme meetings as entries (those in ``exclude`` left out)."""
    delegation, size = delegation_of(visit)
    meetings = (Meeting.objects.filter(programme_slot__visit=visit, status=Meeting.Status.SCHEDULED)
                .exclude(pk__in=list(exclude)).select_related("programme_slot")
                .prefetch_related("participations", "agenda_items").order_by("starts_at", "pk"))
    return [meeting_entry(m, kind=meeting_kind(m, m.programme_slot.kind), delegation=delegation, size=size)
            for m in meetings]


def programme_for_visit(visit: Visit) -> Programme:
    entries = booked_entries(visit)
    return world_for(visit, entries, exclude_meetings=[int(e.key.split("-")[1]) for e in entries])


def visit_check(visit: Visit, *, language: str | None = None) -> list[RuleResult]:
    """The visit's booked programme checked against every rule, in the visit's language by default."""
    return check(programme_for_visit(visit), language=language or visit.language)


def meeting_check(meeting: Meeting, *, language: str | None = None) -> list[RuleResult] | None:
    """The check of the programme ``meeting`` belongs to (None for a meeting outside any programme):
    what a hand edit answers with."""
    from .models import ProgrammeSlot

    slot = ProgrammeSlot.objects.filter(meeting_id=meeting.pk).select_related("visit").first()
    if slot is None:
        return None
    return visit_check(slot.visit, language=language)


def involving(results: Iterable[RuleResult], key: str) -> list[Violation]:
    """The broken rules that name one entry (a meeting's own warnings)."""
    return [v for v in broken(results) if key in v.entries or not v.entries]
