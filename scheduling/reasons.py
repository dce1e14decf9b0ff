"""Why a proposal item is where it is: the reason shown beside each placed item, in every language.

A topic meeting names its host's expertise and free stretch that day and who else is invited; the
welcome, lunch and wrap-up say the rule that put them there; a room says how many it fits. (Why an
item could not be placed at all is the solver's explanation, ``scheduling.unplaced``.)
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.utils import dateformat
from django.utils.translation import gettext

from availability.intervals import Interval
from events.models import Room
from visits.models import ProgrammeKind
from visits.rules import settings_rules

from .models import ProposalItem
from .problem import Assignment
from .values import Frame


def free_around(busy: list[Interval], a: datetime, b: datetime, bounds: Sequence[Interval]) -> Interval:
    """The person's free stretch (inside that day's bounds) that contains [a, b)."""
    day = next(((x, y) for x, y in bounds if x <= a < y), (a, b))
    lo, hi = day
    for x, y in busy:
        if y <= a and y > lo:
            lo = y
        if x >= b and x < hi:
            hi = x
    return max(lo, day[0]), min(hi, day[1])


def placed_reason(item: ProposalItem, a: Assignment, *, frame: Frame, busy_people: dict[int, list[Interval]],
            names: Mapping[int, str], room: Room | None, bounds: Sequence[Interval]) -> str:
    zone = zoneinfo.ZoneInfo(frame.timezone)
    spec = item.spec
    parts = []
    if item.pinned:
        parts.append(gettext("pinned by the coordinator"))
    if item.meeting_id:
        parts.append(gettext("booked"))
    if item.kind == ProgrammeKind.TOPIC and spec.host is not None:  # a placed topic item always has a host
        host = spec.host
        lo, hi = free_around(busy_people.get(host, []), a.starts_at, a.ends_at, bounds)
        lo, hi = lo.astimezone(zone), hi.astimezone(zone)
        topic = item.topic.name if item.topic else item.title
        parts.append(gettext("%(host)s: expertise in %(topic)s; free %(day)s %(start)s–%(end)s") % {
            "host": names.get(host, gettext("host")), "topic": topic, "day": dateformat.format(lo, "D"),
            "start": f"{lo:%H:%M}", "end": f"{hi:%H:%M}"})
        guests = [p.person for p in item.participants if p.person in spec.optional]
        if guests:
            parts.append(gettext("also invited (optional): %(names)s") % {
                "names": ", ".join(names.get(p, "") for p in guests)})
    elif item.kind == ProgrammeKind.WELCOME:
        parts.append(gettext("opens the visit on the first morning, before every topic meeting"))
    elif item.kind == ProgrammeKind.WRAP_UP:
        parts.append(gettext("closes the visit on the last day, after every topic meeting"))
    elif item.kind == ProgrammeKind.LUNCH:
        lunch = settings_rules()
        parts.append(gettext("lunch for the delegation inside %(start)s–%(end)s") % {
            "start": f"{lunch.lunch_start:%H:%M}", "end": f"{lunch.lunch_end:%H:%M}"})
        hosts = [p.person for p in item.participants if p.person not in frame.delegation]
        if hosts:
            parts.append(gettext("with %(names)s of the centre") % {
                "names": ", ".join(names.get(p) or gettext("person %(id)s") % {"id": p} for p in hosts)})
    if room is not None:
        parts.append(gettext("%(room)s: fits %(n)s (%(seats)s seats)") % {
            "room": room.name, "seats": room.capacity,
            "n": frame.seats + len({p.person for p in item.participants} - set(frame.delegation))})
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
