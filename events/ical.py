"""The one iCalendar renderer: every feed, invite and single-meeting download is built here.

Every byte comes from the ``icalendar`` library; this module only decides *what* goes in. Rules
that real clients depend on (RFC 5545, 5546, 7986):

* The UID is the one stored on the meeting, so a feed, an invite and the API name the same event.
* In feeds (no METHOD) DTSTAMP is the meeting's last change, not "now": the same data renders to the
  same bytes, which is what makes ETags and 304s work. Invites stamp the moment they are built.
* Local times carry an IANA ``TZID`` and every TZID gets its VTIMEZONE; UTC values end in ``Z`` and
  never carry a TZID.
* The public audience sees what a poster on the wall would show: no attendee, no organiser person,
  no e-mail address.

Feeds are read far more often than meetings change, so each meeting's VEVENT is rendered once per
change and stored (``MeetingICal``); a feed is then the calendar head, the VTIMEZONEs and a join of
stored fragments. ``render_feed`` renders everything from scratch; ``render_cached_feed`` is the
same output through the fragment store. A fragment is current while the meeting's ``updated_at``
is unchanged: the services touch it for every change of the meeting, its agenda and its
participants. Edits elsewhere that show in a VEVENT (a person's name or e-mail, a room or venue
address, a topic or event title) reach feeds with the meeting's next change; bump
``RENDERER_VERSION`` (or delete ``MeetingICal`` rows) to re-render everything at once.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db.models import Case, Count, F, Max, Min, Q, QuerySet, Sum, TextField, Value, When
from django.utils import timezone as djtz
from icalendar import Calendar, Event, Timezone, vCalAddress, vDuration, vText, vUri

from directory.models import Person

from .links import meeting_ics_url
from .models import Meeting, MeetingICal, Participation

PRODID = "-//Visitdesk//Visitdesk Calendar 1.0//EN"

#: Bump when the rendering changes, so every stored fragment is rendered again.
RENDERER_VERSION = "1"
#: Meetings rendered and stored per round trip when a feed finds fragments out of date.
RENDER_CHUNK = 500

PUBLIC = "public"
PRIVATE = "private"
AUDIENCES = (PUBLIC, PRIVATE)

ROLE = {
    Participation.Role.CHAIR: "CHAIR",
    Participation.Role.HOST: "REQ-PARTICIPANT",
    Participation.Role.PRESENTER: "REQ-PARTICIPANT",
    # Guests are the delegation the visit is about: their presence is required, not optional.
    Participation.Role.GUEST: "REQ-PARTICIPANT",
}
PARTSTAT = {
    Participation.Rsvp.NEEDS_ACTION: "NEEDS-ACTION",
    Participation.Rsvp.ACCEPTED: "ACCEPTED",
    Participation.Rsvp.DECLINED: "DECLINED",
    Participation.Rsvp.TENTATIVE: "TENTATIVE",
}
METHODS = ("REQUEST", "CANCEL")

# Zones that are UTC under another name: written as ...Z with no TZID, never as a "GMT" VTIMEZONE.
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal", "GMT", "Etc/GMT",
     "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"}
)
# C0 controls other than TAB and LF (and DEL) are not allowed in TEXT values (RFC 5545 §3.3.11).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- small helpers ---------------------------------------------------------------------------


def _text(value: str) -> str:
    """Multi-line text with CR/CRLF normalised and control characters removed (icalendar escapes the rest)."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def _line(value: str) -> str:
    """Single-line text (SUMMARY, LOCATION, CN): newlines become spaces."""
    return " ".join(_text(value).split())


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def meeting_tzid(meeting: Meeting) -> str | None:
    """The TZID the meeting's times are written in, or None when they are written in UTC."""
    return None if meeting.timezone in _UTC_NAMES else meeting.timezone


def _local(meeting: Meeting, value: datetime) -> datetime:
    tzid = meeting_tzid(meeting)
    return _utc(value) if tzid is None else value.astimezone(zoneinfo.ZoneInfo(tzid))


def _location(meeting: Meeting) -> str:
    if meeting.room_id is not None:
        venue = meeting.room.venue
        parts = [meeting.room.name, venue.name, venue.address]
        if meeting.location:
            parts.insert(1, meeting.location)
        return _line(", ".join(p for p in parts if p))
    return _line(meeting.location)


def _agenda_lines(meeting: Meeting) -> list[str]:
    lines = []
    for number, item in enumerate(meeting.agenda_items.all(), start=1):
        details = [d for d in (
            item.topic.name if item.topic_id else "",
            item.presenter.name if item.presenter_id else "",
            f"{item.minutes} min" if item.minutes else "",
        ) if d]
        lines.append(f"{number}. {item.title}" + (f" ({', '.join(details)})" if details else ""))
        if item.notes:
            lines.extend(f"   {note}" for note in _text(item.notes).split("\n"))
    return lines


def _description(meeting: Meeting) -> str:
    blocks = []
    if meeting.is_cancelled:
        blocks.append("This meeting has been cancelled.")
    if meeting.description:
        blocks.append(meeting.description)
    agenda = _agenda_lines(meeting)
    if agenda:
        blocks.append("Agenda:\n" + "\n".join(agenda))
    if meeting.online_url:
        blocks.append(f"Join online: {meeting.online_url}")
    if meeting.event_id is not None:
        blocks.append(f"Part of: {meeting.event.title}")
    return _text("\n\n".join(blocks))


def _categories(meeting: Meeting) -> list[str]:
    names = {item.topic.name for item in meeting.agenda_items.all() if item.topic_id}
    return sorted(_line(n) for n in names if _line(n))


def _address(email: str, *, name: str, params: dict[str, str] | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(_line(name) or email)
    for key, value in (params or {}).items():
        address.params[key] = value
    return address


def _attendee(participation: Participation, *, rsvp: bool) -> vCalAddress:
    params = {
        "CUTYPE": "INDIVIDUAL",
        "ROLE": ROLE.get(participation.role, "REQ-PARTICIPANT"),
        "PARTSTAT": PARTSTAT.get(participation.rsvp, "NEEDS-ACTION"),
    }
    if rsvp:
        params["RSVP"] = "TRUE"
    return _address(participation.person.email, name=participation.person.name, params=params)


# --- one meeting -----------------------------------------------------------------------------


def meeting_vevent(meeting: Meeting, *, audience: str = PRIVATE, attendees=None) -> Event:
    """The meeting as a VEVENT for a feed (DTSTAMP = last change; invites re-stamp it).

    ``attendees``: the participations to list (default: all of them for ``private``); the
    ``public`` audience never gets ATTENDEE or ORGANIZER, whatever is passed.
    Render ``meeting_list()`` rows so room, venue, agenda and participants are already joined.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", _utc(meeting.updated_at))
    event.add("sequence", meeting.sequence)
    event.add("created", _utc(meeting.created_at))
    event.add("last-modified", _utc(meeting.updated_at))
    event.add("dtstart", _local(meeting, meeting.starts_at))
    event.add("dtend", _local(meeting, meeting.ends_at))
    event.add("summary", _line(meeting.title) or "Meeting")
    description = _description(meeting)
    if description:
        event.add("description", description)
    location = _location(meeting)
    if location:
        event.add("location", location)
    event.add("url", vUri(meeting_ics_url(meeting)))
    if meeting.online_url:
        # RFC 7986 CONFERENCE; clients that ignore it still find the link in DESCRIPTION.
        event.add("conference", vUri(meeting.online_url),
                  parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Join online"})
    categories = _categories(meeting)
    if categories:
        event.add("categories", categories)
    event.add("status", "CANCELLED" if meeting.is_cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if audience == PUBLIC:
        event.add("class", "PUBLIC")
        return event
    if attendees is None:
        attendees = list(meeting.participations.all())
    if attendees:
        event.add("organizer", _address(settings.VISITDESK_ORGANIZER_EMAIL, name=settings.VISITDESK_ORGANIZER_NAME))
        for participation in attendees:
            event.add("attendee", _attendee(participation, rsvp=False))
    return event


# --- calendars -------------------------------------------------------------------------------


def _calendar(*, method: str | None = None, name: str = "", description: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("name", _line(name))
        cal.add("x-wr-calname", _line(name))
    if description:
        cal.add("description", _text(description))
        cal.add("x-wr-caldesc", _text(description))
    if method is None:
        refresh = timedelta(seconds=3600)
        cal.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
    return cal


@lru_cache(maxsize=256)
def vtimezone_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE for ``tzid`` covering the given years (deterministic, so cached per process)."""
    tz = Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1))
    return tz.to_ical()


def _tz_ranges(rows: Iterable[tuple[str | None, datetime, datetime]]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    for tzid, starts_at, ends_at in rows:
        if tzid is None:
            continue
        zone = zoneinfo.ZoneInfo(tzid)
        first, last = starts_at.astimezone(zone).year, ends_at.astimezone(zone).year
        if tzid in ranges:
            first, last = min(first, ranges[tzid][0]), max(last, ranges[tzid][1])
        ranges[tzid] = (first, last)
    return ranges


def assemble_feed(
    fragments: Iterable[bytes], *, tz_ranges: dict[str, tuple[int, int]], name: str, description: str = ""
) -> bytes:
    """A subscription VCALENDAR (no METHOD) from already-rendered VEVENT bytes.

    The head and the VTIMEZONEs are icalendar's own serialisation; only the component boundary
    is spliced, so the result is exactly what ``Calendar.to_ical()`` would give for the same parts.
    """
    head = _calendar(name=name, description=description).to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    parts = [head[: -len(end)]]
    parts.extend(vtimezone_bytes(tzid, *tz_ranges[tzid]) for tzid in sorted(tz_ranges))
    parts.extend(fragments)
    parts.append(end)
    return b"".join(parts)


def render_feed(meetings: Iterable[Meeting], *, name: str, audience: str = PRIVATE, description: str = "") -> bytes:
    """A subscription calendar of ``meetings`` in the given order, rendered from scratch.

    ``render_cached_feed`` gives the same bytes for the same meetings ordered by primary key.
    """
    meetings = list(meetings)
    return assemble_feed(
        (meeting_vevent(m, audience=audience).to_ical() for m in meetings),
        tz_ranges=_tz_ranges((meeting_tzid(m), m.starts_at, m.ends_at) for m in meetings),
        name=name,
        description=description,
    )


def render_invite(meeting: Meeting, *, method: str, recipient: Participation | Person, organizer_name: str,
                  organizer_email: str) -> bytes:
    """An iTIP object for one recipient (RFC 5546/6047): METHOD, one VEVENT, ORGANIZER and that ATTENDEE.

    ``recipient``: their ``Participation`` (ROLE and PARTSTAT come from it); for someone no longer
    on the meeting pass an unsaved ``Participation(person=..., role=...)`` or just the ``Person``.
    CANCEL always says STATUS:CANCELLED, even when only this recipient was removed from a meeting
    that goes on: for them the event is cancelled.
    """
    if isinstance(recipient, Person):
        recipient = Participation(person=recipient)
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    event = meeting_vevent(meeting, audience=PRIVATE, attendees=[])
    event.pop("DTSTAMP")
    event.add("dtstamp", djtz.now().astimezone(UTC).replace(microsecond=0))
    if method == "CANCEL":
        event.pop("STATUS")
        event.add("status", "CANCELLED")
    event.add("organizer", _address(organizer_email, name=organizer_name))
    event.add("attendee", _attendee(recipient, rsvp=True))
    cal = _calendar(method=method)
    tzid = meeting_tzid(meeting)
    if tzid is not None:
        zone = zoneinfo.ZoneInfo(tzid)
        cal.add_component(Timezone.from_ical(vtimezone_bytes(
            tzid, meeting.starts_at.astimezone(zone).year, meeting.ends_at.astimezone(zone).year)))
    cal.add_component(event)
    return cal.to_ical()


# --- pre-rendered fragments ------------------------------------------------------------------


def _settings_digest() -> str:
    """Stored fragments depend on the renderer and on the settings baked into them."""
    basis = "|".join([RENDERER_VERSION, settings.SITE_URL, settings.VISITDESK_ORGANIZER_EMAIL,
                      settings.VISITDESK_ORGANIZER_NAME])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def fragments_refresh(meetings: Sequence[Meeting]) -> dict[int, MeetingICal]:
    """Render both audiences of ``meetings`` (``meeting_list()`` rows) and store them; one upsert."""
    version = _settings_digest()
    rows = [
        MeetingICal(
            meeting_id=m.pk,
            version=version,
            rendered_for=m.updated_at,
            public=meeting_vevent(m, audience=PUBLIC).to_ical().decode(),
            private=meeting_vevent(m, audience=PRIVATE).to_ical().decode(),
        )
        for m in meetings
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
        return f"{RENDERER_VERSION}|{_settings_digest()}|{stamp}|{self.count}|{self.id_sum}"


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
                       state: FeedState | None = None) -> bytes:
    """``render_feed`` for a queryset, through the fragment store: a constant number of queries.

    One query reads every meeting's stored fragment where it is still current (NULL otherwise);
    the others are loaded with ``meeting_list()``, rendered and stored, so each change is rendered
    once, by the first feed read after it, not by every read. ``state``: the ``feed_state`` the
    caller already read for its validator (saves a query).
    """
    from .selectors import meeting_list

    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    if state is None:
        state = feed_state(meetings)
    current = Q(ical__version=_settings_digest(), ical__rendered_for=F("updated_at"))
    rows = list(
        Meeting.objects.filter(pk__in=meetings.values("pk"))
        .order_by("pk")  # stable, and lets PostgreSQL merge-join on primary keys instead of sorting 10 MB of text
        .annotate(fragment=Case(When(current, then=F(f"ical__{audience}")), default=Value(None),
                                output_field=TextField()))
        .values_list("pk", "timezone", "fragment")
    )
    stale = [pk for pk, _tz, fragment in rows if fragment is None]
    if stale:
        # In chunks, each stored as soon as it is rendered: after a renderer change a huge feed may
        # outlast a worker timeout, and the next request then continues instead of starting over.
        fresh: dict[int, MeetingICal] = {}
        for start in range(0, len(stale), RENDER_CHUNK):
            chunk = stale[start:start + RENDER_CHUNK]
            fresh.update(fragments_refresh(list(meeting_list().filter(pk__in=chunk))))
        rows = [(pk, tz, getattr(fresh[pk], audience) if fragment is None else fragment) for pk, tz, fragment in rows]
    used = {tz for _pk, tz, _f in rows if tz not in _UTC_NAMES}
    if not used <= set(state.tz_ranges):
        state = feed_state(meetings)  # a meeting arrived between the two reads: every TZID needs its VTIMEZONE
    body = "".join(fragment for _pk, _tz, fragment in rows).encode()
    tz_ranges = {tz: years for tz, years in state.tz_ranges.items() if tz in used}
    return assemble_feed([body], tz_ranges=tz_ranges, name=name, description=description)
