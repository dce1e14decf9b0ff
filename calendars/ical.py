"""The one iCalendar renderer: every feed, invite and single-meeting download is built here.

Every byte comes from the ``icalendar`` library; this module only decides *what* goes in. Rules
that real clients depend on (RFC 5545, 5546, 7986):

* The UID is the one stored on the meeting, so a feed, an invite and the API name the same event.
* In feeds (no METHOD) DTSTAMP is the meeting's last change, not "now": the same data renders to the
  same bytes, which is what makes ETags and 304s work. Invites stamp the moment they are built.
* Local times carry an IANA ``TZID`` and every TZID gets its VTIMEZONE; UTC values end in ``Z`` and
  never carry a TZID. A wall time that occurs twice (the repeated hour when clocks go back) is
  written in UTC instead: RFC 5545 §3.3.5 makes readers take its *first* occurrence, so
  ``TZID=…:…T023000`` cannot name the second one, and clients disagree even about the first.
* VTIMEZONEs are built here from ``zoneinfo``'s own transitions (``vtimezone_bytes``), not by
  ``Timezone.from_tzid``: icalendar 7.3 writes spring onsets in the *new* offset and puts a
  COMMENT into VTIMEZONE, which libical rejects. Each observance's DTSTART/RDATE is the onset as
  local time in the *old* offset (§3.6.5), so DTSTART − TZOFFSETFROM is the exact instant.
* Text values (SUMMARY, NAME, X-WR-CALNAME, X-WR-CALDESC, …) are TEXT: commas, semicolons and
  backslashes escaped.
* Links work for whoever holds them: a feed's VEVENT URL is that feed's own link to the single
  meeting (signed per person, or per visit feed), an invite's is the recipient's; no link needs
  an account. Stored fragments therefore carry no URL; it is spliced in per feed.
* The public audience sees what a poster on the wall would show: no attendee, no organiser person,
  no e-mail address.

This module only renders: it takes plain frozen data (``MeetingData`` and friends, built from
loaded rows in one place, ``calendars.snapshot``) and returns bytes; it imports no model, runs no
query and stores nothing, so what it may read is exactly what its input holds. Storage lives beside it in
``calendars.fragments`` (each meeting's VEVENTs rendered once per change, joined into feeds;
``render_feed`` here is the same output from scratch) and HTTP in ``calendars.feeds``. Edits that
show in a VEVENT but do not touch the meeting (a person's name or e-mail, a room or venue address,
a topic or event title) reach feeds with the meeting's next change; bump ``RENDERER_VERSION`` and
run ``manage.py render_calendar_fragments`` to re-render everything at once.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import cast

from django.conf import settings
from django.utils import timezone as djtz
from django.utils import translation
from django.utils.translation import gettext, ngettext
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vDuration, vText, vUri

PRODID = "-//Visitdesk//Visitdesk Calendar 1.0//EN"
# REFRESH-INTERVAL / X-PUBLISHED-TTL of every feed: fixed, not a setting, because every subscribed
# client should poll hourly whatever the deployment (RFC 7986; Outlook reads the X- twin).
FEED_REFRESH = timedelta(hours=1)
#: The language of the words the renderer adds (DESCRIPTION's "Agenda:", the CONFERENCE label) in
#: feeds: a feed's stored fragments are shared by every subscriber, so they stay in one language and
#: byte-stable whatever the request's language. An invite is rendered for one recipient, in theirs.
FEED_LANGUAGE = "en"

#: Bump when the rendering changes, so every stored fragment is rendered again.
RENDERER_VERSION = "2"
#: Meetings rendered and stored per round trip when a feed finds fragments out of date.
RENDER_CHUNK = 500

PUBLIC = "public"
PRIVATE = "private"
AUDIENCES = (PUBLIC, PRIVATE)

#: Visitdesk participation role (``Participation.Role`` values) → iCalendar ROLE.
ROLE: dict[str, str] = {
    "chair": "CHAIR",
    "host": "REQ-PARTICIPANT",
    "presenter": "REQ-PARTICIPANT",
    # Guests are the delegation the visit is about: their presence is required, not optional.
    "guest": "REQ-PARTICIPANT",
}
#: Visitdesk answer (``Participation.Rsvp`` values) → iCalendar PARTSTAT.
PARTSTAT: dict[str, str] = {
    "needs-action": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}
METHODS = ("REQUEST", "CANCEL")
PUBLISH = "PUBLISH"

# Zones that are UTC under another name: written as ...Z with no TZID, never as a "GMT" VTIMEZONE.
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal", "GMT", "Etc/GMT",
     "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"}
)
# C0 controls other than TAB and LF (and DEL) are not allowed in TEXT values (RFC 5545 §3.3.11).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- what the renderer reads ----------------------------------------------------------------
# Plain frozen values, so the renderer cannot reach a database: ``calendars.snapshot`` builds them
# from ``events.selectors.meeting_list`` rows. Text is raw (the renderer cleans and escapes it);
# words the renderer adds are translated here, per call, which is why agenda items stay structured.


@dataclass(frozen=True)
class RoomData:
    name: str
    venue_name: str
    venue_address: str


@dataclass(frozen=True)
class AgendaItemData:
    title: str
    topic: str  # "" when none
    presenter: str  # the presenter's name, "" when none
    minutes: int | None
    notes: str


@dataclass(frozen=True)
class AttendeeData:
    """One person on the meeting: ``role`` and ``rsvp`` are Visitdesk's values (mapped by ``ROLE``/``PARTSTAT``)."""

    email: str
    name: str
    role: str
    rsvp: str


@dataclass(frozen=True)
class MeetingData:
    """Everything any VEVENT of one meeting shows; times are aware, ``timezone`` an IANA name."""

    id: int
    uid: str
    sequence: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    is_cancelled: bool
    created_at: datetime
    updated_at: datetime
    location: str
    room: RoomData | None
    online_url: str
    event_title: str | None  # the public event it belongs to, None when none
    agenda: tuple[AgendaItemData, ...]
    attendees: tuple[AttendeeData, ...]
    public_url: str  # the single-meeting link anyone may open (the public audience's URL)


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


def meeting_tzid(meeting: MeetingData) -> str | None:
    """The TZID the meeting's times are written in, or None when they are written in UTC."""
    return None if meeting.timezone in _UTC_NAMES else meeting.timezone


def is_ambiguous(local: datetime) -> bool:
    """True for a wall time that occurs twice (the repeated hour of a backward change)."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def uses_tzid(meeting: MeetingData) -> bool:
    """Whether the meeting's times are written as local time with its TZID (and need the VTIMEZONE).

    Not when the zone is UTC, and not when the start or the end falls into a repeated hour: then
    both are written in UTC. Both, because a reader given a local DTSTART and a UTC DTEND may
    compute the end on the start's wall clock (recurring-ical-events does), which is the very
    ambiguity avoided.
    """
    tzid = meeting_tzid(meeting)
    if tzid is None:
        return False
    zone = zoneinfo.ZoneInfo(tzid)
    return not any(is_ambiguous(v.astimezone(zone)) for v in (meeting.starts_at, meeting.ends_at))


def _local(meeting: MeetingData, value: datetime) -> datetime:
    """The value as written: local with TZID, or UTC where local time cannot name the instant."""
    return value.astimezone(zoneinfo.ZoneInfo(meeting.timezone)) if uses_tzid(meeting) else _utc(value)


def _location(meeting: MeetingData) -> str:
    if meeting.room is not None:
        parts = [meeting.room.name, meeting.room.venue_name, meeting.room.venue_address]
        if meeting.location:
            parts.insert(1, meeting.location)
        return _line(", ".join(p for p in parts if p))
    return _line(meeting.location)


def _agenda_lines(meeting: MeetingData) -> list[str]:
    lines = []
    for number, item in enumerate(meeting.agenda, start=1):
        details = [d for d in (
            item.topic,
            item.presenter,
            ngettext("%(minutes)s min", "%(minutes)s min", item.minutes) % {"minutes": item.minutes} if item.minutes else "",
        ) if d]
        lines.append(f"{number}. {item.title}" + (f" ({', '.join(details)})" if details else ""))
        if item.notes:
            lines.extend(f"   {note}" for note in _text(item.notes).split("\n"))
    return lines


def _description(meeting: MeetingData) -> str:
    blocks = []
    if meeting.is_cancelled:
        blocks.append(gettext("This meeting has been cancelled."))
    if meeting.description:
        blocks.append(meeting.description)
    agenda = _agenda_lines(meeting)
    if agenda:
        blocks.append(gettext("Agenda:") + "\n" + "\n".join(agenda))
    if meeting.online_url:
        blocks.append(gettext("Join online: %(url)s") % {"url": meeting.online_url})
    if meeting.event_title is not None:
        blocks.append(gettext("Part of: %(event)s") % {"event": meeting.event_title})
    return _text("\n\n".join(blocks))


def _categories(meeting: MeetingData) -> list[str]:
    names = {item.topic for item in meeting.agenda if item.topic}
    return sorted(_line(n) for n in names if _line(n))


def _address(email: str, *, name: str, params: dict[str, str] | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(_line(name) or email)
    for key, value in (params or {}).items():
        address.params[key] = value
    return address


def _attendee(attendee: AttendeeData, *, rsvp: bool, partstat: str | None = None) -> vCalAddress:
    params = {
        "CUTYPE": "INDIVIDUAL",
        "ROLE": ROLE.get(attendee.role, "REQ-PARTICIPANT"),
        "PARTSTAT": partstat or PARTSTAT.get(attendee.rsvp, "NEEDS-ACTION"),
    }
    if rsvp:
        params["RSVP"] = "TRUE"
    return _address(attendee.email, name=attendee.name, params=params)


# --- one meeting -----------------------------------------------------------------------------


def meeting_vevent(meeting: MeetingData, *, audience: str = PRIVATE, attendees: Iterable[AttendeeData] | None = None, url: str | None = None,
                   language: str = FEED_LANGUAGE) -> Event:
    """The meeting as a VEVENT for a feed (DTSTAMP = last change; invites re-stamp it).

    ``attendees``: the participations to list (default: all of them for ``private``); the
    ``public`` audience never gets ATTENDEE or ORGANIZER, whatever is passed.
    ``url``: the link to this meeting's .ics for whoever reads this VEVENT; the public audience
    always gets the public single-meeting link (anyone may open it), a private VEVENT none unless
    given (``with_url`` adds it to stored fragments).
    ``language``: of the words the renderer adds (DESCRIPTION, CONFERENCE label); feeds keep
    ``FEED_LANGUAGE``.
    ``meeting``: from ``calendars.snapshot.meeting_data``.
    """
    with translation.override(language):
        return _meeting_vevent(meeting, audience=audience, attendees=attendees, url=url)


def _meeting_vevent(meeting: MeetingData, *, audience: str, attendees: Iterable[AttendeeData] | None,
                    url: str | None) -> Event:
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
    event.add("summary", _line(meeting.title) or gettext("Meeting"))
    description = _description(meeting)
    if description:
        event.add("description", description)
    location = _location(meeting)
    if location:
        event.add("location", location)
    if audience == PUBLIC:
        url = meeting.public_url
    if url:
        event.add("url", vUri(url))
    if meeting.online_url:
        # RFC 7986 CONFERENCE; clients that ignore it still find the link in DESCRIPTION.
        event.add("conference", vUri(meeting.online_url),
                  parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": gettext("Join online")})
    categories = _categories(meeting)
    if categories:
        event.add("categories", categories)
    event.add("status", "CANCELLED" if meeting.is_cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if audience == PUBLIC:
        event.add("class", "PUBLIC")
        return event
    if attendees is None:
        attendees = meeting.attendees
    attendees = list(attendees)
    if attendees:
        event.add("organizer", _address(settings.VISITDESK_ORGANIZER_EMAIL, name=settings.VISITDESK_ORGANIZER_NAME))
        for attendee in attendees:
            event.add("attendee", _attendee(attendee, rsvp=False))
    return event


# --- calendars -------------------------------------------------------------------------------


def _calendar(*, method: str | None = None, name: str = "", description: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    # vText: icalendar treats these names as unknown and would write commas, semicolons and
    # backslashes unescaped (RFC 7986 NAME and the X-WR- pair are TEXT).
    if name:
        cal.add("name", vText(_line(name)))
        cal.add("x-wr-calname", vText(_line(name)))
    if description:
        cal.add("description", vText(_text(description)))
        cal.add("x-wr-caldesc", vText(_text(description)))
    if method is None:
        cal.add("refresh-interval", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(FEED_REFRESH))
    return cal


#: (UTC offset, abbreviation, DST flag) of a zone at one instant.
ZoneState = tuple[timedelta, str, bool]


def _state(zone: zoneinfo.ZoneInfo, instant: datetime) -> ZoneState:
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None  # aware: astimezone(ZoneInfo) always has an offset
    return offset, local.tzname() or "", bool(local.dst())


def zone_transitions(tzid: str, start: datetime, end: datetime) -> list[tuple[datetime, ZoneState, ZoneState]]:
    """Every instant in (start, end] at which ``tzid`` changes offset, name or DST flag, with the
    (offset, name, dst) before and after: a 12-hour scan, each change then bisected to the second."""
    zone = zoneinfo.ZoneInfo(tzid)
    found = []
    step = timedelta(hours=12)
    lo = start
    before = _state(zone, lo)
    while lo < end:
        hi = min(lo + step, end)
        after = _state(zone, hi)
        if after != before:
            a, b = lo, hi  # state(a) == before, state(b) != before
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if _state(zone, mid) == before:
                    a = mid
                else:
                    b = mid
            changed = _state(zone, b)
            found.append((b, before, changed))
            before = changed
            lo = b
            continue
        lo = hi
    return found


@lru_cache(maxsize=256)
def vtimezone_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE for ``tzid`` covering the given years, built from zoneinfo's transitions.

    One observance for the zone's state on 1 January of ``first_year`` (FROM = TO), then one per
    distinct (kind, from, to, name) with DTSTART at its first onset and RDATEs for the others.
    Onsets are local time in the offset *before* the change (RFC 5545 §3.6.5). Deterministic,
    so cached per process.
    """
    zone = zoneinfo.ZoneInfo(tzid)
    start = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    vtz = Timezone()
    vtz.add("tzid", tzid)

    def observance(is_dst: bool, onset: datetime, offset_from: timedelta, offset_to: timedelta,
                   name: str) -> TimezoneDaylight | TimezoneStandard:
        sub = TimezoneDaylight() if is_dst else TimezoneStandard()
        sub.add("dtstart", onset)
        if name:
            sub.add("tzname", name)
        sub.add("tzoffsetfrom", offset_from)
        sub.add("tzoffsetto", offset_to)
        return sub

    offset, name, is_dst = _state(zone, start)
    vtz.add_component(observance(is_dst, (start + offset).replace(tzinfo=None), offset, offset, name))
    groups: dict[tuple[bool, timedelta, timedelta, str], list[datetime]] = {}
    for instant, (old_offset, _old_name, _old_dst), (new_offset, new_name, new_dst) in zone_transitions(tzid, start, end):
        onset = (instant + old_offset).replace(tzinfo=None)  # local wall time in the OLD offset
        groups.setdefault((new_dst, old_offset, new_offset, new_name), []).append(onset)
    for (new_dst, old_offset, new_offset, new_name), onsets in groups.items():
        sub = observance(new_dst, onsets[0], old_offset, new_offset, new_name)
        for onset in onsets[1:]:
            sub.add("rdate", onset)
        vtz.add_component(sub)
    return cast(bytes, vtz.to_ical())


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


_END_VEVENT = "END:VEVENT\r\n"


def url_line(url: str) -> str:
    """``URL:…`` as one folded content line, exactly as icalendar writes it inside a VEVENT.

    Links are ASCII (``reverse`` percent-encodes), so the fold at 75 octets is done here directly:
    a feed of thousands of meetings splices one per VEVENT.
    """
    if url.isascii() and "\r" not in url and "\n" not in url:
        line = "URL:" + url
        if len(line) < 75:
            return line + "\r\n"
        parts = [line[:74]] + [" " + line[i:i + 74] for i in range(74, len(line), 74)]
        return "\r\n".join(parts) + "\r\n"
    event = Event()
    event.add("url", vUri(url))
    return cast(bytes, event.to_ical()).decode()[len("BEGIN:VEVENT\r\n"): -len(_END_VEVENT)]


def with_url(fragment: str, url: str | None) -> str:
    """A stored VEVENT fragment with the reader's link added before its END line."""
    if not url:
        return fragment
    assert fragment.endswith(_END_VEVENT)
    return fragment[: -len(_END_VEVENT)] + url_line(url) + _END_VEVENT


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


def render_feed(meetings: Iterable[MeetingData], *, name: str, audience: str = PRIVATE, description: str = "",
                link: Callable[[int], str] | None = None) -> bytes:
    """A subscription calendar of ``meetings`` in the given order, rendered from scratch.

    ``link(meeting_id) -> url``: the VEVENT URL for this feed's reader (private audience).
    ``render_cached_feed`` gives the same bytes for the same meetings ordered by primary key.
    """
    meetings = list(meetings)
    return assemble_feed(
        (with_url(meeting_vevent(m, audience=audience).to_ical().decode(),
                  link(m.id) if link and audience == PRIVATE else None).encode() for m in meetings),
        tz_ranges=_tz_ranges((meeting_tzid(m), m.starts_at, m.ends_at) for m in meetings),
        name=name,
        description=description,
    )


def render_invite(meeting: MeetingData, *, method: str, recipient: AttendeeData, url: str, organizer_name: str,
                  organizer_email: str, reset_partstat: bool = False, language: str = FEED_LANGUAGE) -> bytes:
    """An iTIP object for one recipient (RFC 5546/6047): METHOD, one VEVENT, ORGANIZER and that ATTENDEE.

    ``recipient``: their ``AttendeeData`` (ROLE and PARTSTAT come from it;
    ``calendars.snapshot.attendee_data`` also makes one for someone no longer on the meeting).
    A REQUEST asks for an answer (RSVP=TRUE); ``reset_partstat`` (the time or place changed since
    the recipient answered) makes it PARTSTAT=NEEDS-ACTION, as RFC 5546 §2.1.4 wants: an
    acceptance of 10:00 is no acceptance of 11:00. A CANCEL asks for nothing (no RSVP) and always
    says STATUS:CANCELLED, even when only this recipient was removed from a meeting that goes on:
    for them the event is cancelled. ``url``: the VEVENT URL, the recipient's own signed link.
    ``language``: the recipient's, for the DESCRIPTION and the CONFERENCE label.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    event = meeting_vevent(meeting, audience=PRIVATE, attendees=[],
                           url=url, language=language)
    event.pop("DTSTAMP")
    event.add("dtstamp", djtz.now().astimezone(UTC).replace(microsecond=0))
    if method == "CANCEL":
        event.pop("STATUS")
        event.add("status", "CANCELLED")
    event.add("organizer", _address(organizer_email, name=organizer_name))
    asks = method == "REQUEST"
    event.add("attendee", _attendee(recipient, rsvp=asks, partstat="NEEDS-ACTION" if asks and reset_partstat else None))
    cal = _calendar(method=method)
    tzid = meeting_tzid(meeting)
    if tzid is not None and uses_tzid(meeting):
        zone = zoneinfo.ZoneInfo(tzid)
        cal.add_component(Timezone.from_ical(vtimezone_bytes(
            tzid, meeting.starts_at.astimezone(zone).year, meeting.ends_at.astimezone(zone).year)))
    cal.add_component(event)
    return cast(bytes, cal.to_ical())


def render_decline_counter(meeting: MeetingData, *, organizer_name: str, organizer_email: str,
                           comment: str = "") -> bytes:
    """METHOD:DECLINECOUNTER for an attendee whose "propose new time" (COUNTER) was declined
    (RFC 5546 §3.2.8). It names the meeting, it does not describe it: UID, DTSTAMP, ORGANIZER, the
    SEQUENCE echoed when non-zero (the RFC makes it optional at zero) and the COMMENT saying why.
    No ATTENDEE, DTSTART or SUMMARY: the RFC allows leaving them out and libical's restriction table
    (``check_restrictions``, what Evolution and other libical clients apply) refuses them; the
    meeting as it stands reached the person with the last REQUEST, which their calendar keeps."""
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", djtz.now().astimezone(UTC).replace(microsecond=0))
    event.add("organizer", _address(organizer_email, name=organizer_name))
    if meeting.sequence:
        event.add("sequence", meeting.sequence)
    if comment:
        event.add("comment", _text(comment))
    cal = _calendar(method="DECLINECOUNTER")
    cal.add_component(event)
    return cast(bytes, cal.to_ical())


def render_publish(meetings: Iterable[MeetingData], *, organizer_name: str, organizer_email: str,
                   cancelled: Iterable[int] = (), link: Callable[[int], str] | None = None,
                   name: str = "", language: str = FEED_LANGUAGE) -> bytes:
    """One ``METHOD:PUBLISH`` object holding several meetings: the programme a delegation member
    imports in one step (RFC 5546 §3.2.1). Each VEVENT keeps the meeting's UID and SEQUENCE, so a
    later PUBLISH of the same programme updates the events it created instead of adding copies, and
    the same event arriving through the visit feed or an invite is recognised as the same.

    PUBLISH wants an ORGANIZER and no ATTENDEE (libical's restriction check enforces both); DTSTAMP
    is the moment it is built, as for invites. ``cancelled``: ids of meetings this reader must see
    leave their calendar — cancelled meetings (already ``is_cancelled``) and meetings they were told
    about before but no longer take part in — written with ``STATUS:CANCELLED``.
    ``link(meeting_id)``: the VEVENT URL for this reader. ``language``: of the words the renderer adds.
    """
    meetings = list(meetings)
    gone = set(cancelled)
    stamp = djtz.now().astimezone(UTC).replace(microsecond=0)
    cal = _calendar(method=PUBLISH, name=name)
    ranges = _tz_ranges((meeting_tzid(m), m.starts_at, m.ends_at) for m in meetings if uses_tzid(m))
    for tzid in sorted(ranges):
        cal.add_component(Timezone.from_ical(vtimezone_bytes(tzid, *ranges[tzid])))
    for meeting in meetings:
        event = meeting_vevent(meeting, audience=PRIVATE, attendees=[], url=link(meeting.id) if link else None,
                               language=language)
        event.pop("DTSTAMP")
        event.add("dtstamp", stamp)
        if meeting.id in gone and not meeting.is_cancelled:
            event.pop("STATUS")
            event.add("status", "CANCELLED")
        event.add("organizer", _address(organizer_email, name=organizer_name))
        cal.add_component(event)
    return cast(bytes, cal.to_ical())
