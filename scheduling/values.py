"""The typed values a proposal stores as JSON: its frame (``Proposal.settings``), each item's problem
(``ProposalItem.spec``) and participants (``ProposalItem.participants``).

Frozen dataclasses with ``to_json``/``from_json``: the database keeps plain JSON, the code reads and
writes attributes (a misspelt key is an AttributeError at the line, not a ``KeyError`` in a re-solve
weeks later). The model fields in ``scheduling.fields`` convert on every read and assignment, so a
loaded ``ProposalItem.spec`` is always an ``ItemSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.utils import translation

from availability.intervals import Interval

from .problem import MeetingSpec, Pin


def _interval(pair: Any) -> Interval:
    a, b = pair
    return datetime.fromisoformat(a), datetime.fromisoformat(b)


@dataclass(frozen=True)
class ItemSpec:
    """What the solver needs for one programme item, kept so a re-solve or repair needs no lookups."""

    duration_minutes: int
    required: tuple[int, ...] = ()
    optional: tuple[int, ...] = ()
    min_capacity: int | None = None
    needs_room: bool = True
    #: It must lie inside one of these [start, end) windows (empty: any day of the proposal).
    windows: tuple[Interval, ...] = ()
    #: A topic meeting's required expert, and every expert for the topic (the spares for a repair).
    host: int | None = None
    experts: tuple[int, ...] = ()
    #: Why the item can never be placed (nobody has the expertise); empty when it can.
    dead_reason: str = ""
    #: Candidate rooms (None: every room of the proposal): dining rooms for lunch, the others for meetings.
    rooms: tuple[int, ...] | None = None
    #: Every topic the item covers (two topics with one host may be one session), in order.
    topics: tuple[int, ...] = ()
    #: A lunch or a break: a pause for the breaks rule.
    rest: bool = False

    def meeting(self, key: str, title: str, *, pin: Pin | None = None) -> MeetingSpec:
        """The solver's meeting for this item."""
        return MeetingSpec(key=key, title=title, duration_minutes=self.duration_minutes, required=self.required,
                           optional=self.optional, min_capacity=self.min_capacity, needs_room=self.needs_room,
                           windows=self.windows, pinned=pin, rooms=self.rooms, rest=self.rest)

    def to_json(self) -> dict[str, Any]:
        return {
            "duration_minutes": self.duration_minutes, "required": list(self.required),
            "optional": list(self.optional), "min_capacity": self.min_capacity, "needs_room": self.needs_room,
            "windows": [[a.isoformat(), b.isoformat()] for a, b in self.windows], "host": self.host,
            "experts": list(self.experts), "dead_reason": self.dead_reason,
            "rooms": list(self.rooms) if self.rooms is not None else None, "topics": list(self.topics),
            "rest": self.rest,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemSpec:
        rooms = data.get("rooms")
        return cls(
            duration_minutes=data["duration_minutes"], required=tuple(data.get("required", ())),
            optional=tuple(data.get("optional", ())), min_capacity=data.get("min_capacity"),
            needs_room=data.get("needs_room", True), windows=tuple(_interval(w) for w in data.get("windows", ())),
            host=data.get("host"), experts=tuple(data.get("experts", ())), dead_reason=data.get("dead_reason") or "",
            rooms=tuple(rooms) if rooms is not None else None, topics=tuple(data.get("topics", ())),
            rest=bool(data.get("rest", False)),
        )


@dataclass(frozen=True)
class ItemParticipant:
    """Who takes part in a proposed item, and as what (``events.Participation.Role``)."""

    person: int
    role: str

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "role": self.role}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemParticipant:
        return cls(person=data["person"], role=data["role"])


Participants = tuple[ItemParticipant, ...]


def participants_to_json(participants: Participants) -> list[dict[str, Any]]:
    return [p.to_json() for p in participants]


def participants_from_json(data: list[dict[str, Any]]) -> Participants:
    return tuple(ItemParticipant.from_json(p) for p in data)


@dataclass(frozen=True)
class Covered:
    """A part of the visit's programme that was already booked when the proposal was made.

    ``covers`` is a ``visits.models.ProgrammeKind`` value (a topic, the welcome, a lunch, the wrap-up);
    ``topic`` and ``name`` name the topic for a topic; ``day`` is the local date in the visit's zone.
    """

    covers: str
    meeting: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    day: date
    topic: int | None = None
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"covers": self.covers, "topic": self.topic, "name": self.name, "meeting": self.meeting,
                "title": self.title, "starts_at": self.starts_at.isoformat(),
                "ends_at": self.ends_at.isoformat() if self.ends_at else None, "day": self.day.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Covered:
        return cls(covers=data["covers"], meeting=data["meeting"], title=data["title"],
                   starts_at=datetime.fromisoformat(data["starts_at"]),
                   ends_at=datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None,
                   day=date.fromisoformat(data["day"]), topic=data.get("topic"), name=data.get("name") or "")


@dataclass(frozen=True)
class Frame:
    """A proposal's problem frame: days, day bounds, grid, time zone, rooms, order rules, delegation."""

    timezone: str
    days: tuple[date, ...]
    day_start: time
    day_end: time
    granularity_minutes: int
    rooms: tuple[int, ...]
    delegation: tuple[int, ...]
    seats: int
    coordinator: int | None
    #: (before, after) item keys.
    precedence: tuple[tuple[str, str], ...] = ()
    #: What the visit's programme already had (see ``scheduling.programme.existing_programme``).
    covered: tuple[Covered, ...] = field(default=())
    #: (a, b) item keys on one day (topics with the same host that did not fit one session).
    same_day: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone, "days": [d.isoformat() for d in self.days],
            "day_start": self.day_start.strftime("%H:%M"), "day_end": self.day_end.strftime("%H:%M"),
            "granularity_minutes": self.granularity_minutes, "rooms": list(self.rooms),
            "delegation": list(self.delegation), "seats": self.seats, "coordinator": self.coordinator,
            "precedence": [list(p) for p in self.precedence], "covered": [c.to_json() for c in self.covered],
            "same_day": [list(p) for p in self.same_day],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Frame:
        return cls(
            timezone=data["timezone"], days=tuple(date.fromisoformat(d) for d in data["days"]),
            day_start=time.fromisoformat(data["day_start"]), day_end=time.fromisoformat(data["day_end"]),
            granularity_minutes=data["granularity_minutes"], rooms=tuple(data["rooms"]),
            delegation=tuple(data["delegation"]), seats=data["seats"], coordinator=data.get("coordinator"),
            precedence=tuple((a, b) for a, b in data.get("precedence", ())),
            covered=tuple(Covered.from_json(c) for c in data.get("covered", ())),
            same_day=tuple((a, b) for a, b in data.get("same_day", ())),
        )


# --- a repair's plan: what it will change, shown before anything is written ----------------------


def localized(texts: dict[str, str]) -> str:
    """Of texts stored per language code, the one in the active language (else English, else any)."""
    language = translation.get_language() or "en"
    return (texts.get(language) or texts.get(language.split("-")[0]) or texts.get("en")
            or next(iter(texts.values()), ""))


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Placement:
    """Where an item is (before a repair) or will be (after): time, room and host, names included."""

    starts_at: datetime | None
    ends_at: datetime | None
    room: int | None = None
    room_name: str = ""
    location: str = ""
    host: int | None = None
    host_name: str = ""

    def same_place(self, other: Placement) -> bool:
        return (self.starts_at, self.ends_at, self.room) == (other.starts_at, other.ends_at, other.room)

    def to_json(self) -> dict[str, Any]:
        return {"starts_at": _when(self.starts_at), "ends_at": _when(self.ends_at), "room": self.room,
                "room_name": self.room_name, "location": self.location, "host": self.host,
                "host_name": self.host_name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Placement:
        return cls(starts_at=_parse_when(data.get("starts_at")), ends_at=_parse_when(data.get("ends_at")),
                   room=data.get("room"), room_name=data.get("room_name") or "", location=data.get("location") or "",
                   host=data.get("host"), host_name=data.get("host_name") or "")


class Mail:
    """What a participant will receive about a repaired meeting (the notifications' invite kinds)."""

    UPDATE = "update"          # the meeting moved or its agenda changed: a new version of the invitation
    CANCEL = "cancel"          # taken off the meeting (e.g. the host who declined): a cancellation
    INVITATION = "invitation"  # newly on the meeting (the next expert): a first invitation
    #: The delegation and the requester of a visit whose delegation mail is the programme: no mail of
    #: this meeting's own; the change reaches them in the one "programme updated" mail of the visit.
    PROGRAMME = "programme"


@dataclass(frozen=True)
class Told:
    """One person and the mail a repair will send them."""

    person: int
    name: str
    mail: str

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "name": self.name, "mail": self.mail}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Told:
        return cls(person=data["person"], name=data.get("name") or "", mail=data["mail"])


class Outcome:
    """What a repair does with one affected item."""

    REPAIRED = "repaired"              # a new time, room and/or host; its meeting is changed
    NOT_REPAIRED = "not_repaired"      # no new place was found; the meeting stays as it is and says why
    STAYS_CANCELLED = "stays_cancelled"  # the coordinator cancelled it: a decision repair keeps


@dataclass(frozen=True)
class RepairChange:
    """One affected item: why, what happens to it, and who hears what.

    ``why`` and ``reasons`` (the item's new reason) are stored per language code like
    ``ProposalItem.reasons``; ``spec`` and ``participants`` are what the item becomes when applied.
    """

    key: str
    title: str
    outcome: str
    why: dict[str, str]
    before: Placement
    after: Placement
    meeting: int | None = None
    told: tuple[Told, ...] = ()
    spec: ItemSpec | None = None
    participants: Participants = ()
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def moved(self) -> bool:
        return self.outcome == Outcome.REPAIRED and not self.before.same_place(self.after)

    @property
    def new_host(self) -> bool:
        return self.outcome == Outcome.REPAIRED and self.before.host != self.after.host

    @property
    def why_text(self) -> str:
        """Why it is affected, in the reader's language."""
        return localized(self.why)

    @property
    def reason_text(self) -> str:
        """Why it cannot be repaired (or where it goes), in the reader's language."""
        return localized(self.reasons)

    def told_as(self, mail: str) -> list[str]:
        """The names of those who get ``mail`` (a ``Mail`` kind) about this change."""
        return [t.name for t in self.told if t.mail == mail]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "outcome": self.outcome, "why": dict(self.why),
            "before": self.before.to_json(), "after": self.after.to_json(), "meeting": self.meeting,
            "told": [t.to_json() for t in self.told], "spec": self.spec.to_json() if self.spec else None,
            "participants": participants_to_json(self.participants), "reasons": dict(self.reasons),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepairChange:
        return cls(
            key=data["key"], title=data.get("title") or "", outcome=data["outcome"], why=dict(data.get("why") or {}),
            before=Placement.from_json(data["before"]), after=Placement.from_json(data["after"]),
            meeting=data.get("meeting"), told=tuple(Told.from_json(t) for t in data.get("told", ())),
            spec=ItemSpec.from_json(data["spec"]) if data.get("spec") else None,
            participants=participants_from_json(data.get("participants") or []),
            reasons=dict(data.get("reasons") or {}),
        )


@dataclass(frozen=True)
class RepairPlan:
    """What a repair will change (a preview) or changed (``applied_at`` set).

    ``token`` names this plan: confirming with it applies exactly what was shown. ``fingerprint``
    is the state of the proposal's booked meetings when the plan was made; a confirmation after
    they changed is refused (preview again). ``announced``: whether participants are told at all
    (a programme meeting is announced only once its visit is confirmed).
    """

    token: str
    made_at: datetime
    fingerprint: str
    announced: bool
    changes: tuple[RepairChange, ...] = ()
    solver_status: str = ""
    objective: dict[str, Any] = field(default_factory=dict)
    applied_at: datetime | None = None

    @property
    def repairs(self) -> tuple[RepairChange, ...]:
        return tuple(c for c in self.changes if c.outcome == Outcome.REPAIRED)

    @property
    def mail_count(self) -> int:
        """Mails the repair sends: each meeting's own, and one programme update per reader however many
        of their meetings change."""
        told = [t for c in self.changes for t in c.told]
        return sum(t.mail != Mail.PROGRAMME for t in told) + len({t.person for t in told if t.mail == Mail.PROGRAMME})

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token, "made_at": self.made_at.isoformat(), "fingerprint": self.fingerprint,
            "announced": self.announced, "changes": [c.to_json() for c in self.changes],
            "solver_status": self.solver_status, "objective": dict(self.objective),
            "applied_at": _when(self.applied_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepairPlan:
        return cls(
            token=data["token"], made_at=datetime.fromisoformat(data["made_at"]),
            fingerprint=data.get("fingerprint") or "", announced=bool(data.get("announced")),
            changes=tuple(RepairChange.from_json(c) for c in data.get("changes", ())),
            solver_status=data.get("solver_status") or "", objective=dict(data.get("objective") or {}),
            applied_at=_parse_when(data.get("applied_at")),
        )
