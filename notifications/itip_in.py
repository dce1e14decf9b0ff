"""Reading what calendar clients mail back to the organiser: iMIP messages carrying iTIP REPLY or COUNTER.

Pure parsing — no database: bytes of one e-mail in, plain frozen values out. ``notifications.replies``
decides what they mean for the meetings.

Real clients differ in everything but the essentials, so the reader is lenient where RFC 6047 allows
variety and strict where a wrong guess would change someone's answer:

* the calendar may be a ``text/calendar`` part inside ``multipart/alternative`` (Outlook, Thunderbird),
  an ``application/ics`` or ``text/calendar`` attachment (Gmail's ``invite.ics``, Apple's
  ``iCal-….ics``), base64 or quoted-printable, in UTF-8 or a legacy charset named on the part
  (Windows-1252 from older Outlook); identical copies of one calendar count once;
* addresses compare case-insensitively without ``mailto:`` (Outlook writes ``MAILTO:`` in capitals and
  changes the CN to the name in its own address book);
* ``X-`` properties (X-MICROSOFT-CDO-*, X-APPLE-*, X-NUM-GUESTS) are ignored;
* a calendar that does not parse, or has no METHOD, no VEVENT or no UID, is refused (``NotACalendar``)
  so that a person looks at the message instead of a guess being applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses

from icalendar import Calendar, Component

#: The METHODs an organiser receives from attendees (RFC 5546 §1.4); anything else is no answer.
ANSWER_METHODS = frozenset({"REPLY", "COUNTER"})
#: Calendars larger than this are refused unread (an answer is a few kilobytes).
MAX_CALENDAR_BYTES = 1024 * 1024
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar", "application/octet-stream"})


class NotACalendar(ValueError):
    """The message carries something that claims to be a calendar but cannot be read as iTIP."""


def address(value: object) -> str:
    """A calendar address or e-mail address compared the way clients mean it: ``MAILTO:Anna@X.org``,
    ``mailto:anna@x.org`` and ``<anna@x.org>`` are the same person."""
    text = str(value or "").strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    return text.strip().strip('"').strip().lower()


@dataclass(frozen=True)
class Attendee:
    address: str
    name: str
    partstat: str
    sent_by: str
    delegated_to: tuple[str, ...]
    delegated_from: tuple[str, ...]


@dataclass(frozen=True)
class ItipEvent:
    uid: str
    recurrence_id: datetime | date | None
    sequence: int
    dtstamp: datetime | None
    dtstart: datetime | date | None
    dtend: datetime | date | None
    attendees: tuple[Attendee, ...]
    comment: str


@dataclass(frozen=True)
class Itip:
    method: str
    events: tuple[ItipEvent, ...]


@dataclass(frozen=True)
class Mail:
    """One received message as far as answers are concerned."""

    message_id: str
    sender: str  # the From address, normalised
    sender_name: str
    subject: str
    #: every distinct calendar attached, decoded to text
    calendars: tuple[str, ...]
    #: Message-ID + SHA-256 of the body: the same for every delivery of the same message
    fingerprint: str


def fingerprint(raw: bytes, message_id: str) -> str:
    """What identifies a message across deliveries: relays add ``Received`` headers but never touch the
    body, and the Message-ID names the sender's message (a missing one leaves the body alone)."""
    head, sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    digest = hashlib.sha256(body if sep else head).hexdigest()
    return hashlib.sha256(f"{message_id.strip()}\0{digest}".encode()).hexdigest()


def _is_calendar_part(part: Message) -> bool:
    content_type = part.get_content_type()
    filename = (part.get_filename() or "").lower()
    if content_type in ("text/calendar", "application/ics", "text/x-vcalendar"):
        return True
    return content_type in _CALENDAR_TYPES and filename.endswith((".ics", ".ical", ".ifb", ".vcs"))


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    if len(payload) > MAX_CALENDAR_BYTES:
        raise NotACalendar(f"a calendar of {len(payload)} bytes is too large to be an answer")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "windows-1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def read_mail(raw: bytes) -> Mail:
    msg = message_from_bytes(raw, policy=policy.default)
    message_id = str(msg.get("Message-ID", "") or "").strip()
    sender_name, sender = "", ""
    try:
        found = getaddresses([str(msg.get("From", "") or "")])
    except Exception:  # a header too broken to read: no sender, so nothing will be trusted
        found = []
    if found:
        sender_name, sender = found[0][0], address(found[0][1])
    try:
        subject = str(msg.get("Subject", "") or "")
    except Exception:
        subject = ""
    calendars: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or not _is_calendar_part(part):
            continue
        text = _decode(part)
        normalised = text.replace("\r\n", "\n").strip()
        if normalised and normalised not in {c.replace("\r\n", "\n").strip() for c in calendars}:
            calendars.append(text)
    return Mail(message_id=message_id[:500], sender=sender, sender_name=" ".join(sender_name.split()),
                subject=" ".join(subject.split())[:300], calendars=tuple(calendars),
                fingerprint=fingerprint(raw, message_id))


def _params_list(value: object) -> tuple[str, ...]:
    """DELEGATED-TO="mailto:a","mailto:b" — icalendar gives one string or a list."""
    items = value if isinstance(value, list | tuple) else [value] if value else []
    out: list[str] = []
    for item in items:
        out.extend(address(part) for part in re.split(r",(?=\s*\"?mailto:)", str(item), flags=re.IGNORECASE))
    return tuple(a for a in out if a)


def _attendee(prop: object) -> Attendee:
    params = getattr(prop, "params", {})
    value = address(prop)
    if "@" not in value and params.get("EMAIL"):
        value = address(params.get("EMAIL"))  # Apple/iCloud: ATTENDEE;EMAIL=a@b:urn:uuid:…
    return Attendee(
        address=value,
        name=" ".join(str(params.get("CN", "")).split()),
        partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
        sent_by=address(params.get("SENT-BY", "")),
        delegated_to=_params_list(params.get("DELEGATED-TO")),
        delegated_from=_params_list(params.get("DELEGATED-FROM")),
    )


def _when(component: Component, name: str) -> datetime | date | None:
    prop = component.get(name)
    if prop is None:
        return None
    value = getattr(prop, "dt", None)
    return value if isinstance(value, datetime | date) else None


def parse_itip(text: str) -> Itip:
    """The METHOD and the VEVENTs of one calendar; ``NotACalendar`` when it cannot be trusted."""
    if "BEGIN:VCALENDAR" not in text.upper():
        raise NotACalendar("no BEGIN:VCALENDAR")
    try:
        cal = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and friends for any malformed content
        raise NotACalendar(f"unreadable calendar: {exc}") from exc
    method = str(cal.get("METHOD", "")).strip().upper()
    if not method:
        raise NotACalendar("the calendar has no METHOD: not an iTIP message")
    events = []
    try:
        for component in cal.walk("VEVENT"):
            uid = str(component.get("UID", "")).strip()
            if not uid:
                raise NotACalendar("a VEVENT without UID")
            attendees = component.get("ATTENDEE", [])
            if not isinstance(attendees, list):
                attendees = [attendees]
            try:
                sequence = int(str(component.get("SEQUENCE", 0)))
            except ValueError as exc:
                raise NotACalendar("SEQUENCE is not a number") from exc
            stamp = _when(component, "DTSTAMP")
            comment = component.get("COMMENT", "")
            events.append(ItipEvent(
                uid=uid,
                recurrence_id=_when(component, "RECURRENCE-ID"),
                sequence=sequence,
                dtstamp=stamp if isinstance(stamp, datetime) else None,
                dtstart=_when(component, "DTSTART"),
                dtend=_when(component, "DTEND"),
                attendees=tuple(_attendee(a) for a in attendees),
                comment=" ".join(str(c) for c in comment) if isinstance(comment, list) else str(comment or ""),
            ))
    except NotACalendar:
        raise
    except Exception as exc:
        raise NotACalendar(f"unreadable event: {exc}") from exc
    if not events:
        raise NotACalendar("the calendar has no VEVENT")
    return Itip(method=method, events=tuple(events))
