"""What a visit's programme consists of, before anyone decides when: the items a coordinator would list.

* a **welcome** on the first morning (the whole delegation and the coordinator, 30 min);
* one **meeting per requested topic** with a scientist whose ``expertise`` covers it (required) and up
  to two further experts (optional), the delegation attending, as long as the topic's
  ``meeting_minutes``; the required expert is the one with the most free time in the visit's days
  who is not already hosting another topic, so one absent scientist does not sink the programme;
* **lunch** each day inside 11:30–14:00 for the delegation (no room: the canteen);
* a **wrap-up** after the last topic meeting on the last day.

Days are the visit's confirmed dates, or else its first preferred window that has not passed
(weekends skipped when the window has weekdays). Rooms are the visit venue's rooms (all rooms when
the visit has no venue) and must seat the delegation's size plus the hosts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone as djtz

from directory.errors import ValidationFailed
from directory.models import Person, Topic
from events.models import Room
from visits.models import Visit

from . import solver as S

DAY_START, DAY_END = time(9, 0), time(17, 0)
LUNCH_START, LUNCH_END, LUNCH_MINUTES = time(11, 30), time(14, 0), 60
WELCOME_MINUTES = WRAP_UP_MINUTES = 30
OPTIONAL_EXPERTS = 2


@dataclass
class ItemDraft:
    """One programme item before and after solving; ``spec`` is what the solver needs, as JSON."""

    key: str
    title: str
    kind: str
    participants: list[dict[str, Any]]  # [{"person": id, "role": "host"}]
    spec: dict[str, Any]
    topic: Topic | None = None
    location: str = ""
    position: int = 0


@dataclass
class Frame:
    timezone: str
    days: list[date]
    day_start: time
    day_end: time
    granularity_minutes: int
    rooms: list[int]
    delegation: list[int]
    seats: int
    coordinator: int | None
    precedence: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone, "days": [d.isoformat() for d in self.days],
            "day_start": self.day_start.strftime("%H:%M"), "day_end": self.day_end.strftime("%H:%M"),
            "granularity_minutes": self.granularity_minutes, "rooms": self.rooms, "delegation": self.delegation,
            "seats": self.seats, "coordinator": self.coordinator, "precedence": [list(p) for p in self.precedence],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Frame:
        return cls(
            timezone=data["timezone"], days=[date.fromisoformat(d) for d in data["days"]],
            day_start=time.fromisoformat(data["day_start"]), day_end=time.fromisoformat(data["day_end"]),
            granularity_minutes=data["granularity_minutes"], rooms=list(data["rooms"]),
            delegation=list(data["delegation"]), seats=data["seats"], coordinator=data.get("coordinator"),
            precedence=[tuple(p) for p in data.get("precedence", [])],
        )


def visit_days(visit: Visit, *, today: date | None = None) -> list[date]:
    if visit.starts_on:
        span = (visit.starts_on, visit.ends_on or visit.starts_on)
    else:
        today = today or djtz.localdate()
        window = next((w for w in visit.preferred_windows.all() if w.end >= today), None)
        if window is None:
            raise ValidationFailed("The visit has neither dates nor a preferred window still to come.", field="visit")
        span = (max(window.start, today), window.end)
    days = [span[0] + timedelta(days=n) for n in range((span[1] - span[0]).days + 1)]
    weekdays = [d for d in days if d.weekday() < 5]
    return (weekdays or days)[:14]


def visit_frame(visit: Visit, *, rooms: list[int] | None = None, day_start: time = DAY_START,
                day_end: time = DAY_END, granularity_minutes: int = 15) -> Frame:
    if rooms is None:
        qs = Room.objects.filter(venue=visit.venue_id) if visit.venue_id else Room.objects.all()
        rooms = list(qs.order_by("pk").values_list("pk", flat=True))
    members = sorted({*visit.delegation.members.values_list("pk", flat=True), visit.contact_id})
    return Frame(
        timezone=visit.timezone, days=visit_days(visit), day_start=day_start, day_end=day_end,
        granularity_minutes=granularity_minutes, rooms=rooms, delegation=members,
        seats=max(visit.delegation.size, len(members)), coordinator=visit.coordinator_id,
    )


def experts_by_topic(topics: list[Topic], exclude: set[int]) -> dict[int, list[Person]]:
    through = Person.expertise.through
    people = {p.pk: p for p in Person.objects.filter(expertise__in=topics).exclude(pk__in=exclude).distinct()}
    out: dict[int, list[Person]] = {t.pk: [] for t in topics}
    for topic_id, person_id in through.objects.filter(topic__in=topics, person_id__in=people).values_list(
        "topic_id", "person_id"
    ).order_by("person_id"):
        out[topic_id].append(people[person_id])
    return out


def free_minutes(busy: list[tuple[datetime, datetime]], days: tuple[tuple[datetime, datetime], ...]) -> int:
    total = 0
    for a, b in days:
        taken = sum((max(timedelta(0), min(b, y) - max(a, x)) for x, y in busy), timedelta(0))
        total += int(((b - a) - taken).total_seconds() // 60)
    return total


def draft_items(visit: Visit, frame: Frame, *, busy_people: dict[int, list[tuple[datetime, datetime]]],
                bounds: tuple[tuple[datetime, datetime], ...]) -> list[ItemDraft]:
    """The programme's items, with hosts chosen; the solver decides times and rooms."""
    delegation = frame.delegation
    first_day, last_day = bounds[0], bounds[-1]
    items: list[ItemDraft] = []
    coordinator = [frame.coordinator] if frame.coordinator and frame.coordinator not in delegation else []

    def window(day: tuple[datetime, datetime], start: time | None = None, end: time | None = None) -> list[str]:
        a, b = day
        if start:
            a = a.replace(hour=start.hour, minute=start.minute)
        if end:
            b = b.replace(hour=end.hour, minute=end.minute)
        return [a.isoformat(), b.isoformat()]

    items.append(ItemDraft(
        key="welcome", title="Welcome and introductions", kind="meeting",
        participants=[*({"person": c, "role": "chair"} for c in coordinator),
                      *({"person": p, "role": "guest"} for p in delegation)],
        spec={"duration_minutes": WELCOME_MINUTES, "required": [*coordinator, *delegation], "optional": [],
              "min_capacity": frame.seats + len(coordinator), "needs_room": True,
              "windows": [window(first_day, end=(datetime.combine(first_day[0].date(), frame.day_start)
                                                 + timedelta(hours=3)).time())],
              "role": "welcome"},
    ))
    topics = list(visit.topics.order_by("name"))
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
                key=key, title=topic.name, kind="meeting", topic=topic, participants=[],
                spec={"duration_minutes": topic.meeting_minutes, "required": [], "optional": [],
                      "needs_room": True, "windows": [], "role": "topic",
                      "dead_reason": f"nobody has expertise in {topic.name} (add it to a person's expertise)"},
            ))
            continue
        host, further = candidates[0], candidates[1:1 + OPTIONAL_EXPERTS]
        hosting[host.pk] += 1
        items.append(ItemDraft(
            key=key, title=topic.name, kind="meeting", topic=topic,
            participants=[{"person": host.pk, "role": "host"},
                          *({"person": p.pk, "role": "guest"} for p in further),
                          *({"person": p, "role": "guest"} for p in delegation)],
            spec={"duration_minutes": topic.meeting_minutes, "required": [host.pk, *delegation],
                  "optional": [p.pk for p in further], "min_capacity": frame.seats + 1 + len(further),
                  "needs_room": True, "windows": [], "role": "topic", "host": host.pk,
                  "experts": [p.pk for p in candidates]},
        ))
    for day in bounds:
        items.append(ItemDraft(
            key=f"lunch-{day[0].date().isoformat()}", title="Lunch", kind="meal", location="Canteen",
            participants=[{"person": p, "role": "guest"} for p in delegation],
            spec={"duration_minutes": LUNCH_MINUTES, "required": list(delegation), "optional": [],
                  "needs_room": False, "windows": [window(day, LUNCH_START, LUNCH_END)], "role": "lunch"},
        ))
    items.append(ItemDraft(
        key="wrap-up", title="Wrap-up and next steps", kind="meeting",
        participants=[*({"person": c, "role": "chair"} for c in coordinator),
                      *({"person": p, "role": "guest"} for p in delegation)],
        spec={"duration_minutes": WRAP_UP_MINUTES, "required": [*coordinator, *delegation], "optional": [],
              "min_capacity": frame.seats + len(coordinator), "needs_room": True,
              "windows": [window(last_day)], "role": "wrap-up"},
    ))
    topic_keys = [i.key for i in items if i.spec["role"] == "topic" and "dead_reason" not in i.spec]
    frame.precedence = [("welcome", k) for k in topic_keys] + [(k, "wrap-up") for k in topic_keys]
    for n, item in enumerate(items):
        item.position = n
    return items


def meeting_spec(key: str, title: str, spec: dict[str, Any], *, pin: S.Pin | None = None) -> S.MeetingSpec:
    return S.MeetingSpec(
        key=key, title=title, duration_minutes=spec["duration_minutes"], required=tuple(spec["required"]),
        optional=tuple(spec["optional"]), min_capacity=spec.get("min_capacity"),
        needs_room=spec.get("needs_room", True),
        windows=tuple((datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in spec.get("windows", [])),
        pinned=pin,
    )
