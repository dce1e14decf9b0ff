"""What a visit's programme consists of, before anyone decides when: the items a coordinator would list.

* a **welcome** on the first morning (the whole delegation and the coordinator, 30 min);
* one **meeting per requested topic** with a scientist whose ``expertise`` covers it (required) and up
  to two further experts (optional), the delegation attending, as long as the topic's
  ``meeting_minutes``; the required expert is the one with the most free time in the visit's days
  who is not already hosting another topic, so one absent scientist does not sink the programme;
* **lunch** each day inside the lunch window (``VISITDESK_LUNCH_WINDOW``, 11:30–14:00) for the
  delegation with the coordinator as its host, in a dining room (``Room.dining``) when the venue has
  one, else in a meeting room, after the welcome and before the wrap-up; the day's topic hosts are
  invited as optional guests once the solver has placed the topics (``scheduling.proposals``);
* a **wrap-up** after the last topic meeting and the last lunch on the last day.

Two topics whose chosen host is the same person become one session when together they last at most
``VISITDESK_MERGE_TOPICS_MINUTES``; longer ones must share a day (``Frame.same_day``). Meetings take
rooms that are not dining rooms (when the venue has any). The rules they keep are ``visits.rules``'.

A proposal builds on what is already booked (``existing_programme``): a topic that a scheduled
meeting of the visit's programme already covers (an agenda item with that topic, or the meeting's
title naming it) is not proposed again, nor a welcome, lunch (per day) or wrap-up the programme
already has; those meetings stay busy time for everyone in them (through availability).

Days are the visit's confirmed dates, or else its first preferred window that has not passed
(weekends and the venue's public holidays skipped when that leaves any day). Rooms are the visit venue's rooms (all rooms when
the visit has no venue) and must seat the delegation's size plus the hosts.
"""

from __future__ import annotations

import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone as djtz
from django.utils import translation
from django.utils.translation import gettext

from availability.intervals import Interval
from core.errors import ValidationFailed
from directory.models import Person, Topic
from events.models import Meeting, Room
from visits.days import working_days
from visits.models import ProgrammeKind, Visit
from visits.rules import settings_rules, visit_holidays

from .values import Covered, Frame, ItemParticipant, ItemSpec, Participants

DAY_START, DAY_END = time(9, 0), time(17, 0)
LUNCH_MINUTES = 60
WELCOME_MINUTES = WRAP_UP_MINUTES = 30
OPTIONAL_EXPERTS = 2
#: The parts a visit's programme has once (the welcome, the wrap-up) or once a day (lunch).
PARTS = (ProgrammeKind.WELCOME, ProgrammeKind.LUNCH, ProgrammeKind.WRAP_UP)


@dataclass(frozen=True)
class ItemDraft:
    """One programme item before solving: the part it plays, who takes part, what the solver needs."""

    key: str
    title: str
    kind: ProgrammeKind
    participants: Participants
    spec: ItemSpec
    topic: Topic | None = None
    location: str = ""
    position: int = 0


def visit_days(visit: Visit, *, today: date | None = None) -> list[date]:
    if visit.starts_on:
        span = (visit.starts_on, visit.ends_on or visit.starts_on)
    else:
        today = today or djtz.localdate()
        window = next((w for w in visit.preferred_windows.all() if w.end >= today), None)
        if window is None:
            raise ValidationFailed(gettext("The visit has neither dates nor a preferred window still to come."),
                                   field="visit")
        span = (max(window.start, today), window.end)
        if visit.days_wanted:  # the length the requester asked for, on working days
            return working_days(span, visit.days_wanted, visit=visit)
    days = [span[0] + timedelta(days=n) for n in range((span[1] - span[0]).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5] or days
    holidays = visit_holidays(visit, span[0], span[1]) if days else {}
    working = [d for d in weekdays if d not in holidays]
    return (working or weekdays)[:14]


def visit_frame(visit: Visit, *, rooms: list[int] | None = None, day_start: time = DAY_START,
                day_end: time = DAY_END, granularity_minutes: int = 15) -> Frame:
    if rooms is None:
        qs = Room.objects.filter(venue=visit.venue_id) if visit.venue_id else Room.objects.all()
        rooms = list(qs.order_by("pk").values_list("pk", flat=True))
    members = sorted({*visit.delegation.members.values_list("pk", flat=True), visit.contact_id})
    return Frame(
        timezone=visit.timezone, days=tuple(visit_days(visit)), day_start=day_start, day_end=day_end,
        granularity_minutes=granularity_minutes, rooms=tuple(rooms), delegation=tuple(members),
        seats=max(visit.delegation.size, len(members)), coordinator=visit.coordinator_id,
    )


def topic_names(topic: Topic) -> list[str]:
    """The names a meeting title may use for a topic: the whole name and its parts around ':' or dashes.

    "EU funding: Horizon 2020" is named by "Horizon 2020 consortium ideas" as well as by
    "EU funding: Horizon 2020"; parts shorter than four characters are too vague to count.
    """
    parts = [topic.name, *re.split(r"\s*(?::|\s[–—-]\s|/|\(|\))\s*", topic.name)]
    return list(dict.fromkeys(p.strip() for p in parts if len(p.strip()) >= 4))


def names_topic(title: str, topic: Topic) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", title, flags=re.IGNORECASE) for name in topic_names(topic))


def existing_programme(visit: Visit, topics: list[Topic]) -> tuple[Covered, ...]:
    """What the visit's programme already has: one entry per covered topic and per welcome/lunch/wrap-up.

    A meeting is the welcome, a lunch or the wrap-up when its programme slot says so (``kind``, set
    when it was booked as that part); a topic is covered by an agenda item with that topic or a title
    naming it. Only scheduled meetings count; a cancelled one covers nothing.
    """
    zone = zoneinfo.ZoneInfo(visit.timezone)
    meetings = (Meeting.objects.filter(programme_slot__visit=visit, status=Meeting.Status.SCHEDULED)
                .select_related("programme_slot").prefetch_related("agenda_items").order_by("starts_at", "pk"))
    covered: list[Covered] = []
    seen_topics: set[int] = set()
    for meeting in meetings:
        base = Covered(covers="", meeting=meeting.pk, title=meeting.title, starts_at=meeting.starts_at,
                       ends_at=meeting.ends_at, day=meeting.starts_at.astimezone(zone).date())
        part = meeting.programme_slot.kind
        if part in PARTS:
            covered.append(replace(base, covers=part))
        agenda_topics = {a.topic_id for a in meeting.agenda_items.all()}
        for topic in topics:
            if topic.pk not in seen_topics and (topic.pk in agenda_topics or names_topic(meeting.title, topic)):
                seen_topics.add(topic.pk)
                covered.append(replace(base, covers=ProgrammeKind.TOPIC, topic=topic.pk, name=topic.name))
    return tuple(covered)


def experts_by_topic(topics: list[Topic], exclude: set[int]) -> dict[int, list[Person]]:
    through = Person.expertise.through
    people = {p.pk: p for p in Person.objects.filter(expertise__in=topics).exclude(pk__in=exclude).distinct()}
    out: dict[int, list[Person]] = {t.pk: [] for t in topics}
    for topic_id, person_id in through.objects.filter(topic__in=topics, person_id__in=people).values_list(
        "topic_id", "person_id"
    ).order_by("person_id"):
        out[topic_id].append(people[person_id])
    return out


def free_minutes(busy: list[Interval], days: tuple[Interval, ...]) -> int:
    total = 0
    for a, b in days:
        taken = sum((max(timedelta(0), min(b, y) - max(a, x)) for x, y in busy), timedelta(0))
        total += int(((b - a) - taken).total_seconds() // 60)
    return total


def programme_spans(visit: Visit) -> list[Interval]:
    """Start and end of every scheduled meeting in the visit's programme, in order."""
    return list(Meeting.objects.filter(programme_slot__visit=visit, status=Meeting.Status.SCHEDULED)
                .order_by("starts_at").values_list("starts_at", "ends_at"))


def _day_of(day: Interval, spans: list[Interval]) -> list[Interval]:
    return [(a, b) for a, b in spans if a < day[1] and day[0] < b]


def room_classes(rooms: Iterable[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(dining rooms, meeting rooms) among ``rooms``; either is empty when the venue has none of them."""
    dining = dict(Room.objects.filter(pk__in=list(rooms)).values_list("pk", "dining"))
    return (tuple(pk for pk in rooms if dining.get(pk)), tuple(pk for pk in rooms if not dining.get(pk)))


def draft_items(visit: Visit, frame: Frame, *, busy_people: Mapping[int, list[Interval]],
                bounds: tuple[Interval, ...]) -> list[ItemDraft]:
    """The programme's items, with hosts chosen; the solver decides times and rooms.

    What ``frame.covered`` lists as already booked is left out: covered topics, and a welcome,
    lunch (that day) or wrap-up the programme already has.
    """
    delegation = frame.delegation
    dining, meeting_rooms = room_classes(frame.rooms)
    meeting_pool = meeting_rooms if dining and meeting_rooms else None
    first_day, last_day = bounds[0], bounds[-1]
    items: list[ItemDraft] = []
    coordinator = (frame.coordinator,) if frame.coordinator and frame.coordinator not in delegation else ()
    covered_topics = {c.topic for c in frame.covered if c.covers == ProgrammeKind.TOPIC}
    parts = {c.covers for c in frame.covered}
    lunch_days = {c.day for c in frame.covered if c.covers == ProgrammeKind.LUNCH}
    # The order rules hold against what is booked too: a new welcome before the first day's booked
    # meetings, new topics after a booked welcome and before a booked wrap-up, a new wrap-up after the
    # last day's booked meetings (each only when it leaves room for the item at all).
    booked = programme_spans(visit)
    booked_welcome_end = max((c.ends_at for c in frame.covered
                              if c.covers == ProgrammeKind.WELCOME and c.ends_at is not None), default=None)
    booked_wrap_start = min((c.starts_at for c in frame.covered if c.covers == ProgrammeKind.WRAP_UP), default=None)

    def cut(day: Interval, *, after: datetime | None = None, before: datetime | None = None,
            minutes: int = 0) -> Interval:
        a, b = max(day[0], after or day[0]), min(day[1], before or day[1])
        if b - a < timedelta(minutes=minutes):
            a, b = day
        return a, b

    def window(day: Interval, start: time | None = None, end: time | None = None) -> Interval:
        a, b = day
        if start:
            a = a.replace(hour=start.hour, minute=start.minute)
        if end:
            b = b.replace(hour=end.hour, minute=end.minute)
        return a, b

    def chaired(people: Iterable[int]) -> Participants:
        return (*(ItemParticipant(c, "chair") for c in coordinator), *(ItemParticipant(p, "guest") for p in people))

    if ProgrammeKind.WELCOME not in parts:
        items.append(ItemDraft(
            key="welcome", title="Welcome and introductions", kind=ProgrammeKind.WELCOME,
            participants=chaired(delegation),
            spec=ItemSpec(duration_minutes=WELCOME_MINUTES, required=(*coordinator, *delegation),
                          min_capacity=frame.seats + len(coordinator), rooms=meeting_pool,
                          windows=(cut(first_day, before=min([first_day[0] + timedelta(hours=3),
                                                              *(a for a, _b in _day_of(first_day, booked))]),
                                       minutes=WELCOME_MINUTES),)),
        ))
    topics = [t for t in visit.topics.order_by("name") if t.pk not in covered_topics]
    experts = experts_by_topic(topics, exclude=set(delegation))
    hosting: Counter[int] = Counter()
    for topic in topics:
        candidates = sorted(
            experts[topic.pk],
            key=lambda p: (hosting[p.pk], -free_minutes(busy_people.get(p.pk, []), bounds), p.name, p.pk),
        )
        key = f"topic-{topic.slug}"[:60]
        if not candidates:
            items.append(ItemDraft(
                key=key, title=topic.name, kind=ProgrammeKind.TOPIC, topic=topic, participants=(),
                spec=ItemSpec(duration_minutes=topic.meeting_minutes,
                              dead_reason=f"nobody has expertise in {topic.name} (add it to a person's expertise)"),
            ))
            continue
        host, further = candidates[0], candidates[1:1 + OPTIONAL_EXPERTS]
        topic_windows: tuple[Interval, ...] = ()
        if booked_welcome_end or booked_wrap_start:
            topic_windows = tuple(cut(day, after=booked_welcome_end, before=booked_wrap_start,
                                      minutes=topic.meeting_minutes) for day in bounds)
        hosting[host.pk] += 1
        items.append(ItemDraft(
            key=key, title=topic.name, kind=ProgrammeKind.TOPIC, topic=topic,
            participants=(ItemParticipant(host.pk, "host"), *(ItemParticipant(p.pk, "guest") for p in further),
                          *(ItemParticipant(p, "guest") for p in delegation)),
            spec=ItemSpec(duration_minutes=topic.meeting_minutes, required=(host.pk, *delegation),
                          optional=tuple(p.pk for p in further), min_capacity=frame.seats + 1 + len(further),
                          windows=topic_windows, host=host.pk, experts=tuple(p.pk for p in candidates),
                          rooms=meeting_pool, topics=(topic.pk,)),
        ))
    items = merge_same_host(items, visit=visit, limit=settings_rules().merge_topics_minutes)
    rules = settings_rules()
    for day in bounds:
        local_day = day[0].date()
        if local_day in lunch_days:
            continue
        # The coordinator hosts lunch (someone of the centre joins every lunch); the day's topic hosts
        # are added as optional guests once their topics are placed (``scheduling.proposals``).
        items.append(ItemDraft(
            key=f"lunch-{local_day.isoformat()}", title="Lunch", kind=ProgrammeKind.LUNCH,
            participants=(*(ItemParticipant(c, "host") for c in coordinator),
                          *(ItemParticipant(p, "guest") for p in delegation)),
            spec=ItemSpec(duration_minutes=LUNCH_MINUTES, required=(*coordinator, *delegation),
                          min_capacity=frame.seats + len(coordinator), rooms=dining or None, rest=True,
                          windows=(window(day, rules.lunch_start, rules.lunch_end),)),
        ))
    if ProgrammeKind.WRAP_UP not in parts:
        items.append(ItemDraft(
            key="wrap-up", title="Wrap-up and next steps", kind=ProgrammeKind.WRAP_UP,
            participants=chaired(delegation),
            spec=ItemSpec(duration_minutes=WRAP_UP_MINUTES, required=(*coordinator, *delegation),
                          min_capacity=frame.seats + len(coordinator), rooms=meeting_pool,
                          windows=(cut(last_day, after=max([last_day[0], *(b for _a, b in _day_of(last_day, booked))]),
                                       minutes=WRAP_UP_MINUTES),)),
        ))
    return [replace(item, position=n) for n, item in enumerate(items)]


def merge_same_host(items: list[ItemDraft], *, visit: Visit, limit: int) -> list[ItemDraft]:
    """Topics whose host is the same person become one session while together they last at most
    ``limit`` minutes ("EU funding: Horizon 2020 and Eureka"); the optional experts of both are
    invited, the delegation once."""
    out: list[ItemDraft] = []
    for item in items:
        host = item.spec.host
        into = next((n for n, o in enumerate(out) if host is not None and o.kind == ProgrammeKind.TOPIC
                     and o.spec.host == host and o.spec.duration_minutes + item.spec.duration_minutes <= limit),
                    None)
        if into is None:
            out.append(item)
            continue
        base = out[into]
        optional = tuple(dict.fromkeys(p for p in (*base.spec.optional, *item.spec.optional)
                                       if p not in base.spec.required))
        with translation.override(visit.language):
            title = gettext("%(first)s and %(second)s") % {"first": base.title, "second": item.title}
        people = {p.person for p in base.participants}
        out[into] = replace(
            base, key=f"{base.key}--{item.key.removeprefix('topic-')}"[:60], title=title[:200],
            participants=(*base.participants, *(p for p in item.participants if p.person not in people)),
            spec=replace(base.spec, duration_minutes=base.spec.duration_minutes + item.spec.duration_minutes,
                         optional=optional, min_capacity=(base.spec.min_capacity or 0) + len(optional)
                         - len(base.spec.optional), experts=tuple(dict.fromkeys((*base.spec.experts,
                                                                                   *item.spec.experts))),
                         topics=(*base.spec.topics, *item.spec.topics)))
    return out


def same_day_for(items: Sequence[ItemDraft]) -> tuple[tuple[str, str], ...]:
    """Topics with one host that stayed separate sessions (too long together) must share a day."""
    topics = [i for i in items if i.kind == ProgrammeKind.TOPIC and i.spec.host is not None and not i.spec.dead_reason]
    return tuple((a.key, b.key) for n, a in enumerate(topics) for b in topics[n + 1:] if a.spec.host == b.spec.host)


def precedence_for(items: Sequence[ItemDraft]) -> tuple[tuple[str, str], ...]:
    """The order rules between drafted items: the welcome before every topic and lunch, every topic and
    lunch before the wrap-up (so the wrap-up comes after the last day's lunch)."""
    keys = {i.key for i in items}
    inner = [i.key for i in items if i.kind in (ProgrammeKind.TOPIC, ProgrammeKind.LUNCH) and not i.spec.dead_reason]
    return (tuple(("welcome", k) for k in inner if "welcome" in keys)
            + tuple((k, "wrap-up") for k in inner if "wrap-up" in keys))
