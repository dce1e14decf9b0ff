"""Why a meeting is not in the schedule: the explanation of each unplaced item, in the coordinator's words.

``explain`` names the blocking constraint, from the cheapest proof to the costliest: no room big
enough, a pin on busy time, windows or day bounds too short, a required person never free (or the
required people never free together), no room free when they are, and finally the other meetings of
the problem that took every slot. Each reason is made once per configured language
(``in_languages``) and stored so every reader gets it in their own language.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

from availability import intervals as iv

from .model import Grid, MeetingVars, ModelBuilder, Steps, starts_avoiding, starts_within
from .problem import Assignment, MeetingSpec, Problem, Unplaced


def in_languages(make: Callable[[], str]) -> dict[str, str]:
    """``make()`` in every configured language: reasons are stored once and read in the reader's language."""
    codes = [code for code, _name in getattr(settings, "LANGUAGES", [])] if settings.configured else []
    out = {}
    for code in codes or ["en"]:
        with translation.override(code):
            out[code] = make()
    return out


def unplaced(key: str, make: Callable[[], str], rule: str = "") -> Unplaced:
    reasons = in_languages(make)
    active = (translation.get_language() or "en") if settings.configured else "en"
    return Unplaced(key, reasons.get(active) or reasons.get(active.split("-")[0]) or make(), reasons, rule)



def describe_spans(grid: Grid, spans: list[Steps], limit: int = 3) -> str:
    shown = [grid.label(a, b) for a, b in spans[:limit]]
    more = len(spans) - limit
    text = ", ".join(shown)
    return gettext("%(spans)s and %(n)s more") % {"spans": text, "n": more} if more > 0 else text


def _names(problem: Problem, people: Iterable[int]) -> str:
    names = [problem.people_names.get(p, gettext("person %(id)s") % {"id": p}) for p in people]
    if len(names) <= 1:
        return "".join(names)
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _minutes_text(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    if h and m:
        return gettext("%(h)s h %(m)s min") % {"h": h, "m": m}
    return gettext("%(h)s h") % {"h": h} if h else gettext("%(m)s min") % {"m": m}



class Explainer:
    """Explains every meeting left out of one schedule, with what it needs looked up once.

    The meetings that took a left-out meeting's slots are found through indexes of the placed ones by
    required person and by room class (its competitors can only share one of those), in the placed
    order, stopping at the few the sentence names: near-linear in the problem, where a scan of every
    placed meeting per left-out one grew with the square (and a lookup by key inside it, the cube)."""

    SHOWN = 4  # competitors named in a sentence

    def __init__(self, builder: ModelBuilder, placed: Sequence[Assignment]) -> None:
        self.builder = builder
        self.placed = list(placed)
        self.by_key = {mv.spec.key: mv for mv in builder.vars}
        self.room_names = {r.id: r.name or "" for r in builder.p.rooms}
        self.order_partners: dict[str, list[str]] = defaultdict(list)
        for first, then in builder.p.precedence:
            self.order_partners[first].append(then)
            if then != first:
                self.order_partners[then].append(first)
        grid = builder.grid
        self.spans = [(grid.floor(a.starts_at), grid.ceil(a.ends_at)) for a in self.placed]
        self.of_person: dict[int, list[int]] = defaultdict(list)  # required person -> positions in ``placed``
        self.of_class: dict[int, list[int]] = defaultdict(list)  # room class -> positions in ``placed``
        for n, a in enumerate(self.placed):
            for person in self.by_key[a.key].spec.required:
                self.of_person[person].append(n)
            if a.room is not None and a.room in builder.class_of:
                self.of_class[builder.class_of[a.room]].append(n)
        self._competitors: dict[int, list[tuple[Assignment, tuple[int, ...]]]] = {}

    def for_meeting(self, mv: MeetingVars) -> Unplaced:
        rules: list[str] = []

        def make() -> str:
            rule, text = blocking(self, mv)
            rules.append(rule)
            return text

        reasons = in_languages(make)
        active = (translation.get_language() or "en") if settings.configured else "en"
        reason = reasons.get(active) or reasons.get(active.split("-")[0]) or make()
        return Unplaced(mv.spec.key, reason, reasons, rules[0])

    def room_name(self, room: int) -> str:
        return self.room_names.get(room) or gettext("room %(id)s") % {"id": room}

    def competitors(self, mv: MeetingVars, free_alone: list[Steps]) -> list[tuple[Assignment, tuple[int, ...]]]:
        """The first ``SHOWN`` placed meetings (in placed order) that lie in the meeting's free time and share
        a required person or a room it could use, each with the people they share."""
        if mv.index in self._competitors:
            return self._competitors[mv.index]
        people = set(mv.spec.required)
        lists = [self.of_person[p] for p in mv.spec.required if p in self.of_person]
        lists += [self.of_class[c] for c in mv.class_domains if c in self.of_class]
        out: list[tuple[Assignment, tuple[int, ...]]] = []
        free_starts = [a for a, _b in free_alone]  # normalized: sorted, disjoint
        last = -1
        for n in heapq.merge(*lists):
            if n == last:
                continue
            last = n
            s, e = self.spans[n]
            k = bisect.bisect_left(free_starts, e) - 1  # the last free span starting before the end
            if k < 0 or free_alone[k][1] <= s:
                continue
            a = self.placed[n]
            out.append((a, tuple(sorted(people & set(self.by_key[a.key].spec.required)))))
            if len(out) == self.SHOWN:
                break
        self._competitors[mv.index] = out
        return out


def explain_all(builder: ModelBuilder, meetings: Sequence[MeetingVars], placed: Sequence[Assignment]) -> list[Unplaced]:
    """Why each of ``meetings`` is not in the schedule ``placed``."""
    explainer = Explainer(builder, placed)
    return [explainer.for_meeting(mv) for mv in meetings]


def for_meeting(builder: ModelBuilder, mv: MeetingVars, placed: Sequence[Assignment]) -> Unplaced:
    return Explainer(builder, placed).for_meeting(mv)


def explain(builder: ModelBuilder, mv: MeetingVars, placed: Sequence[Assignment]) -> str:
    """Why ``mv`` is not in the schedule, in the coordinator's words, naming the blocking constraint."""
    return blocking(Explainer(builder, placed), mv)[1]


def _window_rule(key: str) -> str:
    """The programme rule behind an item's time window (a proposal's keys say its part)."""
    if key == "welcome":
        return "welcome-first"
    if key == "wrap-up":
        return "wrap-up-last"
    if key.startswith("lunch-"):
        return "lunch"
    return "windows"


def _closed_days(builder: ModelBuilder, m: MeetingSpec) -> str:
    """The holiday names when every day the meeting could be on is a public holiday at the venue."""
    closed = builder.p.closed_days
    if not closed:
        return ""
    spans = [builder.grid.window(a, b) for a, b in m.windows] if m.windows else builder.day_spans
    days = {builder.grid.at(a).astimezone(builder.grid.zone).date() for a, _b in spans}
    if days and all(d in closed for d in days):
        return ", ".join(dict.fromkeys(closed[d] for d in sorted(days)))
    return ""


def blocking(explainer: Explainer, mv: MeetingVars) -> tuple[str, str]:
    """(rule id, sentence): which rule keeps ``mv`` out of the schedule and why, in the active language."""
    rule, text = _why_left_out(explainer, mv)
    holiday = _closed_days(explainer.builder, mv.spec)
    if holiday and rule in ("room-busy", "capacity", "available", "programme-full", "time-limit"):
        return "holiday", gettext("every day it could be on is a public holiday at the venue (%(names)s)") % {
            "names": holiday}
    return rule, text


def _why_left_out(explainer: Explainer, mv: MeetingVars) -> tuple[str, str]:
    builder = explainer.builder
    p, grid, m, d = builder.p, builder.grid, mv.spec, mv.duration
    length = _minutes_text(m.duration_minutes)
    room_name = explainer.room_name
    if m.needs_room:
        pool = ([m.pinned.room] if m.pinned and m.pinned.room is not None
                else (list(m.rooms) if m.rooms is not None else list(builder.rooms)))
        if not pool:
            return "capacity", gettext("no room is offered for it")
        if not mv.rooms:
            biggest = max(pool, key=lambda r: builder.rooms[r].capacity)
            return "lunch-room" if m.key.startswith("lunch-") else "capacity", gettext(
                "no room for %(n)s people: the largest is %(room)s with %(seats)s seats") % {
                "n": m.seats, "room": room_name(biggest), "seats": builder.rooms[biggest].capacity}
    if m.pinned:
        when = grid.label(grid.floor(m.pinned.starts_at), grid.floor(m.pinned.starts_at) + d)
        if not mv.domain:
            busy = [q for q in m.required if _starts_avoiding_hit(builder, q, grid.floor(m.pinned.starts_at), d)]
            return "available", ngettext("pinned to %(when)s, but %(names)s is busy then",
                            "pinned to %(when)s, but %(names)s are busy then", len(busy)) % {
                "when": when, "names": _names(p, busy)}
        if m.needs_room and not mv.class_domains:
            return "room-busy", gettext("pinned to %(when)s, but %(room)s is booked then") % {
                "when": when, "room": room_name(mv.rooms[0])}
    # Without the other meetings of this problem: days, windows, people.
    free_alone = iv.normalize((a, b - 1 + d) for a, b in mv.domain)
    if not mv.domain:
        base = _base_without_people(builder, m, d)
        if not base:
            if m.windows:
                return _window_rule(m.key), gettext("%(length)s does not fit inside its time windows") % {
                    "length": length}
            return "day-bounds", gettext("%(length)s does not fit inside the day bounds") % {"length": length}
        blockers = [q for q in m.required if not iv.subtract(base, starts_avoiding(builder.busy_people.get(q, []), d))]
        if blockers:
            return "available", ngettext(
                "%(names)s is not free for %(length)s on any of the days (working hours, absences or other meetings)",
                "%(names)s are not free for %(length)s on any of the days (working hours, absences or other meetings)",
                len(blockers)) % {"names": _names(p, blockers), "length": length}
        return "available", gettext("%(names)s are never free together for %(length)s on these days") % {
            "names": _names(p, m.required), "length": length}
    if m.needs_room and not mv.class_domains:
        values = {"n": m.seats, "names": _names(p, m.required), "spans": describe_spans(grid, free_alone)}
        if not m.required:
            return "room-busy", gettext("no room for %(n)s people is free (%(spans)s)") % values
        return "room-busy", ngettext("no room for %(n)s people is free when %(names)s is free (%(spans)s)",
                        "no room for %(n)s people is free when %(names)s are free (%(spans)s)",
                        len(m.required)) % values
    # Everything it needs exists; the other meetings of this problem took it.
    competitors = []
    for a, shared in explainer.competitors(mv, free_alone):
        what = _names(p, shared) if shared else room_name(a.room) if a.room is not None else gettext("the room")
        competitors.append(f"“{explainer.by_key[a.key].spec.title}” ({what})")
    order = [f"“{explainer.by_key[q].spec.title}”" for q in explainer.order_partners.get(m.key, ())]
    if competitors:
        text = gettext("every %(length)s slot when its people and a room for %(n)s are free (%(spans)s) is taken "
                       "by %(others)s") % {"length": length, "n": m.seats, "spans": describe_spans(grid, free_alone),
                                           "others": ", ".join(competitors[:4])}
        if order:
            text += gettext("; it must also come after/before %(others)s") % {"others": ", ".join(order)}
        return (_order_rule(builder, m.key) if order else "programme-full"), text
    if order:
        return _order_rule(builder, m.key), gettext("no slot left that keeps it in order with %(others)s") % {"others": ", ".join(order)}
    partners = [b if a == m.key else a for a, b in p.same_day if m.key in (a, b)]
    if partners:
        return "same-host-topics", gettext("no day left that it can share with %(others)s (the same host)") % {
            "others": ", ".join(f"“{explainer.by_key[k].spec.title}”" for k in partners)}
    if p.breaks is not None and set(p.breaks.people) & set(m.required):
        return "breaks", gettext("no slot left that keeps a %(pause)s break after %(work)s of meetings") % {
            "pause": _minutes_text(p.breaks.break_minutes), "work": _minutes_text(p.breaks.max_minutes)}
    if p.building_gap_hard and p.building_gap_minutes:
        return "walking-gap", gettext("no slot left that keeps %(gap)s to walk between buildings") % {
            "gap": _minutes_text(p.building_gap_minutes)}
    return "time-limit", gettext("the time limit ran out before a place was found for it")


def _starts_avoiding_hit(builder: ModelBuilder, person: int, s: int, d: int) -> bool:
    return iv.overlaps(starts_avoiding(builder.busy_people.get(person, []), d), s, s + 1)


def _base_without_people(builder: ModelBuilder, m: MeetingSpec, d: int) -> list[Steps]:
    spans = builder.day_spans
    if m.windows:
        spans = iv.intersect(spans, iv.normalize(builder.grid.window(a, b) for a, b in m.windows))
    return starts_within(spans, d)


def _order_rule(builder: ModelBuilder, key: str) -> str:
    partners = {b if a == key else a for a, b in builder.p.precedence if key in (a, b)} | {key}
    if "wrap-up" in partners:
        return "wrap-up-last"
    return "welcome-first" if "welcome" in partners else "order"
