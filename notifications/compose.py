"""Turning one outbox row into one e-mail, rendered from the database as it is *now*.

Rendering at send time (not when the row was created) is what makes rapid edits coalesce: whatever
the row was owed for, the mail shows the meeting's current state and SEQUENCE, and the dispatcher
records that SEQUENCE as told. Calendar bytes come only from ``calendars.ical.render_invite``.

MIME layout (interop requirement for Outlook, Gmail, Apple Mail, Thunderbird)::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain
    │   ├── text/html
    │   └── text/calendar; method=REQUEST; charset=utf-8
    └── application/ics; name=invite.ics   (the same bytes)

Recipients are addressed with ``mailbox()`` (``email.headerregistry`` / ``formataddr``), so any
display name a visitor types survives as one quoted or encoded address.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import encoders, message_from_bytes
from email.charset import Charset
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.utils import formataddr
from typing import Any, cast

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy, pgettext

from calendars.ical import render_decline_counter, render_invite, render_publish
from calendars.links import feed_links, meeting_link_for_person, meeting_links_for_person, visit_feed_url
from calendars.snapshot import attendee_data, meeting_data
from core.links import link_for
from core.text import defang_links, link_html
from directory.models import Person
from events.models import AgendaItem, Meeting, MeetingRevision, Participation
from events.selectors import meeting_list
from visits.links import visit_status_url
from visits.models import Visit
from visits.programme_document import Document, programme_document, programme_filename, programme_pdf
from visits.selectors import VISIBLE_VISIT_STATES, programme_meetings, programme_recipient_ids, visible_meeting_ids

from . import answers, links, programme
from .models import CounterProposal, InboundMessage, InviteState, Kind, OutboxMessage, ProgrammeState

LANGUAGES = ("en", "de")
logger = logging.getLogger(__name__)

# Every word a mail says comes from the gettext catalogue (locale/<lang>/LC_MESSAGES/django.po), as
# on the pages; the mail is rendered under ``translation.override(recipient's language)``.
#: How a field's change is told in an update, by MeetingRevision field name.
CHANGE_LABELS = {
    "room": gettext_lazy("room %(old)s → %(new)s"),
    "location": gettext_lazy("place %(old)s → %(new)s"),
    "title": gettext_lazy("title “%(old)s” → “%(new)s”"),
    "online_url": gettext_lazy("online link changed"),
    "description": gettext_lazy("description changed"),
    "agenda": gettext_lazy("agenda changed"),
    "timezone": gettext_lazy("time zone %(old)s → %(new)s"),
}
#: The answers an invite offers (labels shared with the RSVP page and the web form).
RSVP_CHOICES = (
    (gettext_lazy("Accept"), "accepted"),
    (gettext_lazy("Maybe"), "tentative"),
    (gettext_lazy("Decline"), "declined"),
)


def long_date_format() -> str:
    """The long date of the active language: German wants the day's dot ("Montag, 1. Dezember 2026")."""
    return pgettext("long date format", "l, j F Y")


class Stale(Exception):
    """The row no longer matches the truth (e.g. an invite for someone removed); it is cancelled."""


def language_of(person: Person) -> str:
    return person.language if person.language in LANGUAGES else "en"


# --- formatting ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def format_span(starts_at: datetime, ends_at: datetime, tz: str, lang: str, viewer_tz: str | None = None) -> str:
    """"Monday, 1 December 2026, 10:00–11:00 (Europe/Berlin)", plus the viewer's own zone if different.

    Cached: a pure function of its arguments, asked for the same spans again and again by a batch of
    reminders (many meetings share their times)."""
    zone = zoneinfo.ZoneInfo(tz)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    with translation.override(lang):
        long = long_date_format()
        text = f"{date_format(start, long)}, {start:%H:%M}–"
        text += f"{end:%H:%M}" if end.date() == start.date() else f"{date_format(end, long)}, {end:%H:%M}"
        text += f" ({tz})"
        if viewer_tz and viewer_tz != tz:
            vzone = zoneinfo.ZoneInfo(viewer_tz)
            vstart, vend = starts_at.astimezone(vzone), ends_at.astimezone(vzone)
            if vstart.utcoffset() != start.utcoffset():  # same wall time under another name: no noise
                day = date_format(vstart, long)
                text += f" = {day}, {vstart:%H:%M}–{vend:%H:%M} {viewer_tz} ({gettext('your time')})"
    return text


def format_moment(value: datetime, tz: str, lang: str, *, with_date: bool) -> str:
    local = value.astimezone(zoneinfo.ZoneInfo(tz))
    if not with_date:
        return f"{local:%H:%M}"
    with translation.override(lang):
        return f"{date_format(local, long_date_format())} {local:%H:%M}"


#: Fields whose change voids an attendee's answer (RFC 5546 §2.1.4: time or place).
TIME_AND_PLACE = frozenset({"starts_at", "ends_at", "room", "location"})


def _merged_changes(meeting: Meeting, since_sequence: int) -> tuple[dict[str, list[str]], bool]:
    """Each field's first old and last new value since ``since_sequence``, and whether the stored
    revisions cover every SEQUENCE step up to the meeting's current one."""
    merged: dict[str, list[str]] = {}
    steps = []
    for revision in MeetingRevision.objects.filter(meeting=meeting, sequence__gt=since_sequence).order_by("sequence"):
        steps.append(revision.sequence)
        for name, pair in (revision.changes or {}).items():
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            if name in merged:
                merged[name][1] = pair[1]
            else:
                merged[name] = [pair[0], pair[1]]
    complete = steps == list(range(since_sequence + 1, meeting.sequence + 1))
    return merged, complete


def _same(name: str, old: Any, new: Any) -> bool:
    if name in ("starts_at", "ends_at") and old and new:
        try:
            return datetime.fromisoformat(old) == datetime.fromisoformat(new)
        except (TypeError, ValueError):
            return bool(old == new)
    return bool((old or "") == (new or ""))


def net_changes(meeting: Meeting, since_sequence: int) -> dict[str, list[str]] | None:
    """What a person told at ``since_sequence`` would see differ now (moved and moved back is no
    change); None when the revisions do not cover every step, so nothing can be ruled out."""
    merged, complete = _merged_changes(meeting, since_sequence)
    if not complete:
        return None
    return {name: pair for name, pair in merged.items() if not _same(name, *pair)}


def describe_changes(meeting: Meeting, since_sequence: int, lang: str) -> list[str]:
    """What changed since ``since_sequence``: each field's first old and last new value, in words
    (a field that came back to where it was is not mentioned)."""
    merged, _complete = _merged_changes(meeting, since_sequence)
    merged = {name: pair for name, pair in merged.items() if not _same(name, *pair)}
    with translation.override(lang):
        return _change_lines(meeting, merged, lang)


def _change_lines(meeting: Meeting, merged: dict[str, list[str]], lang: str) -> list[str]:
    lines = []
    start = merged.pop("starts_at", None)
    end = merged.pop("ends_at", None)
    if start or end:
        old_start = datetime.fromisoformat(start[0]) if start else meeting.starts_at
        new_start = datetime.fromisoformat(start[1]) if start else meeting.starts_at
        old_end = datetime.fromisoformat(end[0]) if end else meeting.ends_at
        new_end = datetime.fromisoformat(end[1]) if end else meeting.ends_at
        zone = zoneinfo.ZoneInfo(meeting.timezone)
        same_day = old_start.astimezone(zone).date() == new_start.astimezone(zone).date()
        old = f"{format_moment(old_start, meeting.timezone, lang, with_date=not same_day)}–{format_moment(old_end, meeting.timezone, lang, with_date=False)}"
        new = f"{format_moment(new_start, meeting.timezone, lang, with_date=not same_day)}–{format_moment(new_end, meeting.timezone, lang, with_date=False)}"
        lines.append(gettext("moved from %(old)s to %(new)s") % {"old": old, "new": new})
    none = gettext("none")
    for name, (old, new) in merged.items():
        template = CHANGE_LABELS.get(name)
        if template is None:  # "status" among others: told by the mail's kind, not as a change
            continue
        lines.append(str(template) % {"old": old or none, "new": new or none})
    return lines


def where(meeting: Meeting) -> str:
    room = meeting.room
    if room is not None:
        address = room.venue.address
        return f"{room.name}, {room.venue.name}" + (f", {address}" if address else "")
    return meeting.location


# --- the mail object -------------------------------------------------------------------------


class CalendarMail(EmailMultiAlternatives):
    """``EmailMultiAlternatives`` whose alternative part can be ``text/calendar; method=…``.

    Django builds ``text/*`` alternatives from a bare subtype and would drop the ``method`` parameter;
    Outlook then shows "not supported calendar message.ics". The part is base64 so its CRLFs and
    folded lines reach the client byte for byte.
    """

    def __init__(self, *args: Any, calendar: bytes | None = None, method: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendar = calendar
        self.method = method

    def _create_alternatives(self, msg: Any) -> Any:  # Django's private hook for alternative parts
        msg = super()._create_alternatives(msg)  # type: ignore[misc]
        if self.calendar is not None:
            part = MIMEBase("text", "calendar", method=self.method, charset="utf-8")
            part.set_payload(self.calendar)
            encoders.encode_base64(part)
            msg.attach(part)
        return msg


@dataclass(frozen=True)
class Told:
    """What an invite, update or cancellation tells its one recipient; ``dispatch`` records it once sent.

    ``reset_partstat``: the update asks again, so the old answer is forgotten once it is sent
    (answers given after ``built_at`` are kept).
    """

    uid: str
    sequence: int
    role: str
    reset_partstat: bool
    built_at: datetime


@dataclass(frozen=True)
class ProgrammeTold:
    """What a programme mail tells its recipient: their view of the visit's programme
    (``notifications.programme``); ``dispatch`` stores it in ``ProgrammeState`` once sent."""

    visit_id: int
    fingerprint: str
    meetings: dict[str, list[int | str]]


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail: ``maintype/subtype`` with extra Content-Type ``params``."""

    data: bytes
    filename: str
    maintype: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Rendered:
    """One mail as rendered, and (for iTIP and programme mails) what its recipient was told."""

    subject: str
    text: str
    html: str
    calendar: bytes | None = None
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    told: Told | None = None
    attachments: tuple[Attachment, ...] = ()
    programme_told: ProgrammeTold | None = None


#: Renders one outbox row for its recipient in their language (raises Stale when it is owed no more).
Builder = Callable[[OutboxMessage, Person, str], Rendered]


def _trusted_links(context: dict[str, Any]) -> Callable[[str], bool]:
    """Links a mail may show as links: this site's, its webcal:// twins, the organizer's address, and
    every link the product itself made for this mail — the feed's "add to Google Calendar / Outlook"
    links (another site's, so the site rule alone defused them into unclickable text), the online
    link of the meeting the mail is about and ``product_links`` (e.g. a programme's online links);
    all set by coordinators or built here, never typed by a requester. Matching is exact: a
    requester's text that merely contains such a link is still defused."""
    site = settings.SITE_URL.rstrip("/")
    host = site.split("://", 1)[-1]
    organizer = settings.VISITDESK_ORGANIZER_EMAIL.lower()
    extra = {m.online_url for m in [context.get("meeting")] if m is not None and getattr(m, "online_url", None)}
    feed = context.get("feed")
    if isinstance(feed, dict):
        extra.update(v for v in feed.values() if isinstance(v, str) and v)
    extra.update(v for v in context.get("product_links", ()) if v)

    def trusted(token: str) -> bool:
        lowered = token.lower()
        return (
            token == site or token.startswith(site + "/") or token.startswith(f"webcal://{host}/")
            or lowered in {organizer, f"mailto:{organizer}"} or token in extra
        )

    return trusted


#: Where the HTML part puts the programme's time table (a line of the text template's HTML rendering).
PROGRAMME_MARKER = "@@programme-table@@"


def render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html): the text template's first line is the subject.

    A mail with a programme (``doc`` in the context) shows it as a time table in the HTML part: the
    text template is rendered a second time with ``for_html`` (leaving its plain-text time table out)
    and ``email.html`` puts the table where that rendering has ``programme_marker``."""
    context = {**context, "lang": lang, "site_url": settings.SITE_URL}
    with translation.override(lang):
        raw = render_to_string(f"notifications/{template}.txt", context)
        subject, _, body = raw.strip("\n").partition("\n")
        # Only our own links stay links; anything link-like that people typed is defused in both parts.
        trusted = _trusted_links(context)
        body = defang_links(body.strip("\n") + "\n", trusted=trusted)
        subject = defang_links(subject, trusted=trusted)
        html_body, html_after = body, ""
        if context.get("doc") is not None:
            raw_html = render_to_string(f"notifications/{template}.txt",
                                        {**context, "for_html": True, "programme_marker": PROGRAMME_MARKER})
            html_body = defang_links(raw_html.strip("\n").partition("\n")[2].strip("\n") + "\n", trusted=trusted)
            html_body, _, html_after = html_body.partition(PROGRAMME_MARKER + "\n")
            context["doc"] = defanged_document(context["doc"])
        html = render_to_string(
            "notifications/email.html",
            {**context, "subject": subject, "body": body, "body_html": link_html(html_body, trusted=trusted),
             "body_html_after": link_html(html_after, trusted=trusted) if html_after else ""},
        )
    return " ".join(subject.split()), body, html


def defanged_document(doc: Document) -> Document:
    """The programme with what a requester typed (the delegation's and organisation's names, the members'
    names and titles) defused like any typed text in a mail: HTML escaping alone does not stop a mail
    client from turning ``www.example.org`` into a link."""

    def never(_token: str) -> bool:
        return False

    def clean(text: str) -> str:
        return defang_links(text, trusted=never)

    return replace(
        doc, delegation=clean(doc.delegation), organisation=clean(doc.organisation),
        delegation_members=tuple(replace(p, name=clean(p.name), job_title=clean(p.job_title))
                                 for p in doc.delegation_members),
    )


def preload(rows: list[OutboxMessage]) -> None:
    """Fetch what a batch of rows renders in a constant number of queries, not several per message.

    Sets ``row.wanted``: whether the recipient is (still) a participant the meeting may be told to,
    the check that turns an invite or reminder made stale by a later change into a cancelled row.
    """
    meeting_ids = {r.meeting_id for r in rows if r.meeting_id}
    if not meeting_ids:
        return
    meetings = {
        m.pk: m
        for m in Meeting.objects.filter(pk__in=meeting_ids)
        .select_related("room__venue", "programme_slot__visit")
        .prefetch_related(Prefetch("agenda_items", queryset=AgendaItem.objects.select_related("presenter")))
    }
    participants = set(
        Participation.objects.filter(meeting_id__in=meeting_ids).order_by().values_list("meeting_id", "person_id")
    )
    visible = visible_meeting_ids(meeting_ids=meeting_ids, now=timezone.now())
    for row in rows:
        if row.meeting_id:
            meeting = row.meeting = meetings.get(row.meeting_id)
            row.wanted = (
                meeting is not None
                and (row.meeting_id, row.person_id) in participants
                and row.meeting_id in visible
            )


def is_wanted(row: OutboxMessage) -> bool:
    if not hasattr(row, "wanted"):
        preload([row])
    return row.wanted


def build_message(row: OutboxMessage) -> Rendered:
    person = row.person
    lang = language_of(person)
    builder = BUILDERS[Kind(row.kind)]
    return builder(row, person, lang)


#: Line breaks and other control characters cannot live in a header; they become spaces.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def display_name(name: str) -> str:
    """The display name as it can appear in a header: control characters and line breaks become
    single spaces; everything else (commas, quotes, backslashes, any script, emoji) is kept."""
    return " ".join(_HEADER_UNSAFE.sub(" ", name or "").split())


def mailbox(name: str, email: str) -> str:
    """``name <email>`` as RFC 5322 wants it: quoted where the name has specials, RFC 2047-encoded
    where it is not ASCII.

    Never ``f"{name} <{email}>"``: a comma or semicolon in a visitor's name ("Müller, Anna") splits
    that into two broken addresses and Django's mail classes raise ``ValueError`` for the message.
    ``Address`` checks the address part; ``formataddr`` quotes and escapes the name.
    """
    address = Address(addr_spec=email)  # raises for a malformed address: that message fails alone
    name = display_name(name)
    if not name:
        return address.addr_spec
    if "=?" in name:
        # ASCII that looks like an RFC 2047 encoded word would be decoded by the reader: encode it
        # itself, so the reader gets the characters the person typed.
        name = Charset("utf-8").header_encode(name)
    return formataddr((name, address.addr_spec), charset="utf-8")


def attachment(data: bytes, filename: str) -> MIMEBase:
    """The ``application/ics`` attachment: ``name=`` on Content-Type (older Outlook and many webmail
    clients name the file from it) and ``filename=`` on Content-Disposition."""
    part = MIMEBase("application", "ics", name=filename)
    part.set_payload(data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def unsubscribe_headers(person: Person) -> tuple[str, dict[str, str]]:
    """(the HTTPS opt-out URL, the RFC 8058 headers): an https URL that opts out on a bare POST, and a
    ``mailto:`` for clients that only mail (it reaches the organiser's mailbox with the token in the
    subject)."""
    token = links.opt_out_token(person_id=person.pk)  # one signature for both: the same token in both links
    url = links.opt_out_url(person_id=person.pk, token=token)
    mailto = f"mailto:{settings.VISITDESK_UNSUBSCRIBE_MAILTO}?subject=unsubscribe%20{token}"
    return url, {
        "List-Unsubscribe": f"<{url}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def to_email(row: OutboxMessage, rendered: Rendered) -> CalendarMail:
    person = row.person
    mail = CalendarMail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mailbox(person.name, person.email)],
        reply_to=[settings.VISITDESK_ORGANIZER_EMAIL],
        headers={"X-Visitdesk-Key": row.key, "Auto-Submitted": "auto-generated", **rendered.headers},
        calendar=rendered.calendar,
        method=rendered.method,
    )
    mail.attach_alternative(rendered.html, "text/html")
    if rendered.calendar is not None:
        name = {"REQUEST": "invite.ics", "CANCEL": "cancel.ics"}.get(rendered.method or "", "reply.ics")
        mail.attach(attachment(rendered.calendar, name))
    for extra in rendered.attachments:
        mail.attach(file_part(extra))
    return mail


def file_part(extra: Attachment) -> MIMEBase:
    """An attachment part, base64 (a PDF is binary; an .ics keeps its CRLFs and folds byte for byte),
    named on Content-Type and Content-Disposition like ``attachment``."""
    if (extra.maintype, extra.subtype) == ("message", "rfc822"):
        # A forwarded message travels as itself (RFC 2046 §5.2.1: no base64 for message/rfc822).
        forwarded = MIMEMessage(message_from_bytes(extra.data))
        forwarded.add_header("Content-Disposition", "attachment", filename=extra.filename)
        return forwarded
    part = MIMEBase(extra.maintype, extra.subtype, name=extra.filename)
    for key, value in extra.params:
        part.set_param(key, value)
    part.set_payload(extra.data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=extra.filename)
    return part


# --- per kind --------------------------------------------------------------------------------


def _meeting_context(meeting: Meeting, person: Person, lang: str) -> dict[str, Any]:
    return {**_meeting_shared(meeting, lang), **_meeting_personal(meeting, person, lang)}


def _meeting_shared(meeting: Meeting, lang: str) -> dict[str, Any]:
    """What a mail about ``meeting`` says alike to everyone reading it in ``lang``."""
    return {
        "meeting": meeting,
        "when_short": format_span(meeting.starts_at, meeting.ends_at, meeting.timezone, lang),
        "where": where(meeting),
        "agenda": list(meeting.agenda_items.all()),
        "organizer_name": settings.VISITDESK_ORGANIZER_NAME,
        "organizer_email": settings.VISITDESK_ORGANIZER_EMAIL,
    }


def _meeting_personal(meeting: Meeting, person: Person, lang: str, when: str | None = None) -> dict[str, Any]:
    """What differs per reader: the name, the time in their own zone, their signed links."""
    return {
        "person": person,
        "when": when if when is not None else format_span(
            meeting.starts_at, meeting.ends_at, meeting.timezone, lang, person.timezone),
        # The recipient's own signed link: guests have no account to open the staff one.
        "ics_url": meeting_link_for_person(meeting.pk, person),
    }


def _invite_recipient(meeting: Meeting, person: Person, role: str) -> Participation:
    found = Participation.objects.filter(meeting=meeting, person=person).select_related("person").first()
    if found is not None:
        return found
    # Removed participant: an unsaved stand-in carrying the role they had.
    return Participation(
        meeting=meeting, person=person, role=role or Participation.Role.GUEST, rsvp=Participation.Rsvp.NEEDS_ACTION,
        starts_at=meeting.starts_at, ends_at=meeting.ends_at,
    )


def _imip(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    meeting = cast(Meeting, row.meeting)  # meeting kinds are owed for a meeting
    wanted = is_wanted(row)
    if row.kind == Kind.CANCEL and wanted:
        raise Stale("the person is a participant again")
    if row.kind != Kind.CANCEL and not wanted:
        raise Stale("the person is no longer a participant or the meeting is not visible")
    method = "CANCEL" if row.kind == Kind.CANCEL else "REQUEST"
    state = InviteState.objects.filter(person=person, meeting=meeting).first()
    role = (state.role if state else "") or row.payload.get("role", "")
    recipient = _invite_recipient(meeting, person, role)
    context = _meeting_context(meeting, person, lang)
    template = {"invite": "invite", "update": "update", "cancel": "cancel"}[row.kind]
    reset_partstat = False
    if row.kind == Kind.UPDATE and state is not None:
        changes = net_changes(meeting, state.sequence)
        if changes == {}:
            # Moved and moved back (or renamed and renamed back) before the mail went out: the
            # calendar entry the person has is still right, and "moved from 09:30 to 09:30" is noise.
            raise Stale("nothing changed since the person was last told")
        reset_partstat = changes is None or bool(TIME_AND_PLACE & set(changes))
        context["changes"] = describe_changes(meeting, state.sequence, lang)
    if method == "REQUEST":
        with translation.override(lang):
            context["rsvp"] = [
                (str(label), links.rsvp_url(meeting_id=meeting.pk, person_id=person.pk, answer=answer))
                for label, answer in RSVP_CHOICES
            ]
        context["actions"] = context["rsvp"]
    data = render_invite(
        meeting_data(meeting, with_attendees=False),
        method=method,
        recipient=attendee_data(recipient),
        url=meeting_link_for_person(meeting.pk, recipient.person),
        organizer_name=settings.VISITDESK_ORGANIZER_NAME,
        organizer_email=settings.VISITDESK_ORGANIZER_EMAIL,
        reset_partstat=reset_partstat,
        language=lang,
    )
    subject, text, html = render(template, lang, context)
    told = Told(uid=meeting.uid, sequence=meeting.sequence, role=recipient.role, reset_partstat=reset_partstat,
                built_at=timezone.now())
    return Rendered(subject, text, html, calendar=data, method=method, told=told)


def _reminder(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    if person.reminders_opt_out:
        raise Stale("the person opted out of reminders")
    meeting = cast(Meeting, row.meeting)
    if meeting.starts_at <= timezone.now():
        raise Stale("the meeting has already started")
    if not is_wanted(row):
        raise Stale("not a participant of a scheduled meeting any more")
    context = _meeting_context(meeting, person, lang)
    opt_out, headers = unsubscribe_headers(person)
    context["opt_out_url"] = opt_out
    subject, text, html = render("reminder", lang, context)
    return Rendered(subject, text, html, headers=headers)


# --- reminders in bulk: rendered once per shape and language, filled in per meeting and person ----


class NotShareable(Exception):
    """A template asked a shared rendering for something it does not hold."""


class _StandIn:
    """An object in a shared rendering: each attribute it holds is a token (or an empty value, so a
    template's ``{% if %}`` goes the same way); asking for any other attribute raises (Django's
    templates let that exception through) and the rows render one by one."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)

    def __getattr__(self, attribute: str) -> Any:
        raise NotShareable(f"the template asks for {attribute}")


#: Random per process, so the token patterns are compiled once (``re`` caches them).
_NONCE = secrets.token_hex(8)


class SharedRendering:
    """``render(template, lang, context)`` done once with tokens in place of the values that differ
    between the mails it serves.

    ``fill`` puts one mail's values in and then does exactly what ``render`` does after the template:
    the same defusing of links over the whole text (with the meeting's own trusted links) and the
    same HTML, so the mail is byte for byte the one ``render`` gives for that reader
    (``tests/notifications/test_reminder_batch.py``). The tokens carry a random nonce, so nothing
    typed by a person can look like one.
    """

    def __init__(self, template: str, lang: str, context: dict[str, Any], tokens: dict[str, str]) -> None:
        if context.get("doc") is not None:
            raise NotShareable("a programme mail renders its HTML twice")
        subject_token, body_token, body_html_token = (f"VDFILL{_NONCE}{tag}X" for tag in ("S", "B", "H"))
        self.token = tokens
        context = {**context, "lang": lang, "site_url": settings.SITE_URL}
        with translation.override(lang):
            self.raw = render_to_string(f"notifications/{template}.txt", context)
            self.html = render_to_string(
                "notifications/email.html",
                {**context, "subject": subject_token, "body": body_token, "body_html": mark_safe(body_html_token),  # noqa: S308 - a token
                 "body_html_after": ""},
            )
        self._by_token = {token: name for name, token in tokens.items()}
        self._raw_tokens = re.compile("|".join(sorted(self._by_token, key=len, reverse=True)))
        self._html_keys = {subject_token: "subject", body_html_token: "body_html", tokens["opt_out_url"]: "opt_out"}
        self._html_tokens = re.compile("|".join(self._html_keys))
        # A token a template changed (a filter) or one without a value here (``body``) would reach the mail.
        if _NONCE in self._raw_tokens.sub("", self.raw).lower() or _NONCE in self._html_tokens.sub("", self.html).lower():
            raise NotShareable("a template transforms or drops a value")

    def fill(self, values: dict[str, str], trusted: Callable[[str], bool]) -> tuple[str, str, str]:
        """(subject, text, html) for one mail; ``values`` by the names of ``tokens``, ``trusted`` as
        ``render`` makes it from the mail's own context."""
        raw = self._raw_tokens.sub(lambda m: values[self._by_token[m.group(0)]], self.raw)
        subject, _, body = raw.strip("\n").partition("\n")
        body = defang_links(body.strip("\n") + "\n", trusted=trusted)
        subject = defang_links(subject, trusted=trusted)
        html_values = {"subject": escape(subject), "body_html": link_html(body, trusted=trusted),
                       "opt_out": escape(values["opt_out_url"])}
        html = self._html_tokens.sub(lambda m: html_values[self._html_keys[m.group(0)]], self.html)
        return " ".join(subject.split()), body, html


def _token(name: str) -> str:
    return f"VDFILL{_NONCE}{name}X"


def _reminder_shape(meeting: Meeting, lang: str) -> tuple[Any, ...]:
    """What decides the reminder template's branches: which values are empty, the agenda's length,
    minutes (a plural) and presenters. Meetings of one shape share one rendering."""
    agenda = tuple((item.minutes, item.presenter is not None) for item in meeting.agenda_items.all())
    scalars = (meeting.title, where(meeting), meeting.online_url, meeting.description)
    return lang, tuple(bool(v) for v in scalars), agenda


def _shared_reminder(meeting: Meeting, lang: str) -> SharedRendering:
    """The reminder rendered with tokens for the meeting's own words and the reader's values."""
    def token(name: str, value: Any) -> str:
        return _token(name) if value else ""

    agenda = [
        _StandIn(title=token(f"a{i}t", item.title), minutes=item.minutes,
                 presenter=_StandIn(name=token(f"a{i}p", item.presenter.name)) if item.presenter is not None else None)
        for i, item in enumerate(meeting.agenda_items.all())
    ]
    context = {
        "meeting": _StandIn(title=token("title", meeting.title), online_url=token("online", meeting.online_url),
                            description=token("description", meeting.description)),
        "when_short": _token("when_short"), "where": token("where", where(meeting)), "agenda": agenda,
        "organizer_name": settings.VISITDESK_ORGANIZER_NAME, "organizer_email": settings.VISITDESK_ORGANIZER_EMAIL,
        "person": _StandIn(name=_token("name")), "when": _token("when"), "ics_url": _token("ics_url"),
        "opt_out_url": _token("opt_out_url"),
    }
    names = ["title", "online", "description", "when_short", "where", "name", "when", "ics_url", "opt_out_url"]
    names += [f"a{i}{part}" for i in range(len(agenda)) for part in ("t", "p")]
    return SharedRendering("reminder", lang, context, {name: _token(name) for name in names})


def _meeting_values(meeting: Meeting, lang: str) -> dict[str, str]:
    shared = _meeting_shared(meeting, lang)
    values = {"title": meeting.title, "online": meeting.online_url, "description": meeting.description,
              "when_short": shared["when_short"], "where": shared["where"]}
    for i, item in enumerate(shared["agenda"]):
        values[f"a{i}t"] = item.title
        values[f"a{i}p"] = item.presenter.name if item.presenter is not None else ""
    return values


def build_reminders(rows: list[OutboxMessage]) -> dict[int, Rendered]:
    """The meeting reminders among ``rows`` (preloaded), rendered once per shape and language (at
    most once per meeting and language) and filled in per meeting and person: the title, dates,
    place and agenda are the meeting's; the name, the time in the reader's own zone and the signed
    links are theirs.

    A row left out (opted out, meeting started, not wanted any more, a template that cannot be
    shared, any error) is built on its own by ``build_message``, which says why or fails that row."""
    now = timezone.now()
    renderings: dict[tuple[Any, ...], SharedRendering | None] = {}
    meeting_values: dict[tuple[int, str], tuple[dict[str, str], Callable[[str], bool]]] = {}
    out: dict[int, Rendered] = {}
    for row in rows:
        meeting, person = row.meeting, row.person
        if row.kind != Kind.REMINDER or meeting is None or person.reminders_opt_out:
            continue
        if meeting.starts_at <= now or not is_wanted(row):
            continue
        lang = language_of(person)
        try:
            shape = _reminder_shape(meeting, lang)
            if shape not in renderings:
                try:
                    renderings[shape] = _shared_reminder(meeting, lang)
                except Exception:  # NotShareable, or a template bug each row then reports on its own
                    logger.debug("reminders of shape %s render one by one", shape, exc_info=True)
                    renderings[shape] = None
            shared = renderings[shape]
            if shared is None:
                continue
            if (meeting.pk, lang) not in meeting_values:
                values = _meeting_values(meeting, lang)
                trusted = _trusted_links({"meeting": meeting})
                meeting_values[(meeting.pk, lang)] = values, trusted
            values, trusted = meeting_values[(meeting.pk, lang)]
            opt_out, headers = unsubscribe_headers(person)
            personal = _meeting_personal(meeting, person, lang)
            subject, text, html = shared.fill(
                {**values, "name": person.name, "when": personal["when"], "ics_url": personal["ics_url"],
                 "opt_out_url": opt_out},
                trusted,
            )
        except Exception:
            logger.debug("reminder %s renders on its own", row.pk, exc_info=True)
            continue
        out[row.pk] = Rendered(subject, text, html, headers=headers)
    return out


def _visit_context(visit: Visit, person: Person, lang: str) -> dict[str, Any]:
    programme = [
        {
            "meeting": m,
            "when": format_span(m.starts_at, m.ends_at, m.timezone, lang, person.timezone),
            "where": where(m),
            "cancelled": m.is_cancelled,
        }
        for m in programme_meetings(visit=visit)
        if not m.is_cancelled
    ]
    # Only the requester gets the status link: its page can cancel the visit. Every other member
    # gets a read-only itinerary signed for them.
    is_contact = person.pk == visit.contact_id
    return {
        "person": person,
        "visit": visit,
        "programme": programme,
        "status_url": visit_status_url(visit) if is_contact else "",
        "itinerary_url": "" if is_contact else links.itinerary_url(visit_id=visit.pk, person=person),
        "feed": feed_links(visit_feed_url(visit)),
        "organizer_name": settings.VISITDESK_ORGANIZER_NAME,
        "organizer_email": settings.VISITDESK_ORGANIZER_EMAIL,
        "first_day": date_format(visit.starts_on, long_date_format()) if visit.starts_on else "",
        "last_day": date_format(visit.ends_on, long_date_format()) if visit.ends_on else "",
    }


def _visit(template: str, *, require: tuple[str, ...] = ()) -> Builder:
    def build(row: OutboxMessage, person: Person, lang: str) -> Rendered:
        visit = Visit.objects.select_related("delegation__organisation", "contact", "coordinator").get(pk=cast(int, row.visit_id))
        if require and visit.status not in require:
            raise Stale(f"the visit is {visit.status}")
        with translation.override(lang):
            context = _visit_context(visit, person, lang)
        headers: dict[str, str] = {}
        if row.kind == Kind.VISIT_REMINDER:
            if person.reminders_opt_out:
                raise Stale("the person opted out of reminders")
            opt_out, headers = unsubscribe_headers(person)
            context["opt_out_url"] = opt_out
        if row.kind == Kind.COORDINATOR_NEW_REQUEST:
            context["admin_url"] = link_for("visit-admin", visit)
        subject, text, html = render(template, lang, context)
        return Rendered(subject, text, html, headers=headers)

    return build


def _rsvp_declined(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    meeting = cast(Meeting, row.meeting)
    decliner = Person.objects.get(pk=row.payload.get("decliner"))
    context = _meeting_context(meeting, person, lang)
    context["decliner"] = decliner
    visit = Visit.objects.filter(pk=row.visit_id).first() if row.visit_id else None
    context["visit"] = visit
    subject, text, html = render("coordinator_rsvp_declined", lang, context)
    return Rendered(subject, text, html)


def _decline_counter(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    """METHOD:DECLINECOUNTER to the person whose "propose new time" a coordinator declined."""
    meeting = cast(Meeting, row.meeting)
    counter = CounterProposal.objects.filter(pk=row.payload.get("counter")).first()
    if counter is None:
        raise Stale("the counter-proposal no longer exists")
    if meeting.is_cancelled:
        raise Stale("the meeting was cancelled; its CANCEL says enough")
    if not Participation.objects.filter(meeting=meeting, person=person).exists():
        raise Stale("the person is no longer a participant")
    context = _meeting_context(meeting, person, lang)
    context["counter_when"] = format_span(counter.starts_at, counter.ends_at, meeting.timezone, lang, person.timezone)
    context["comment"] = row.payload.get("comment", "")
    data = render_decline_counter(
        meeting_data(meeting, with_attendees=False),
        organizer_name=settings.VISITDESK_ORGANIZER_NAME,
        organizer_email=settings.VISITDESK_ORGANIZER_EMAIL,
        comment=row.payload.get("comment", ""),
    )
    subject, text, html = render("decline_counter", lang, context)
    return Rendered(subject, text, html, calendar=data, method="DECLINECOUNTER")


def _mailbox_forward(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    """A message from the organiser mailbox that is no calendar answer, forwarded to a coordinator
    (``VISITDESK_ORGANIZER_OTHER_MAIL=forward``) as an attached message/rfc822."""
    inbound = InboundMessage.objects.filter(pk=row.payload.get("inbound")).first()
    if inbound is None:
        raise Stale("the message is no longer recorded")
    context = {"person": person, "inbound": inbound, "kept": inbound.raw is not None,
               "organizer_email": settings.VISITDESK_ORGANIZER_EMAIL}
    subject, text, html = render("mailbox_forward", lang, context)
    attachments = ((Attachment(bytes(inbound.raw), "message.eml", "message", "rfc822"),)
                   if inbound.raw is not None else ())
    return Rendered(subject, text, html, attachments=attachments)


# --- the coordinator's answer summary --------------------------------------------------------

#: How a participant's role is named in a summary line.
ROLE_WORDS: dict[str, Any] = {
    Participation.Role.HOST.value: gettext_lazy("host"),
    Participation.Role.CHAIR.value: gettext_lazy("chair"),
    Participation.Role.PRESENTER.value: gettext_lazy("presenter"),
    Participation.Role.GUEST.value: gettext_lazy("guest"),
}
#: One summary line per answer: who (with their role) and what.
ANSWER_LINES = {
    answers.Answer.ACCEPTED: gettext_lazy("%(who)s accepted"),
    answers.Answer.DECLINED: gettext_lazy("%(who)s declined"),
    answers.Answer.TENTATIVE: gettext_lazy("%(who)s answered maybe (tentative)"),
    answers.Answer.COUNTER: gettext_lazy("%(who)s proposes another time: %(when)s"),
    answers.Answer.HELD: gettext_lazy("%(who)s: an answer from another address, held until you confirm it"),
}
#: The subject's counts, in the order they are named.
ANSWER_COUNTS = (
    (answers.Answer.DECLINED, gettext_lazy("%(n)s declined")),
    (answers.Answer.COUNTER, gettext_lazy("%(n)s new time proposed")),
    (answers.Answer.TENTATIVE, gettext_lazy("%(n)s tentative")),
    (answers.Answer.ACCEPTED, gettext_lazy("%(n)s accepted")),
    (answers.Answer.HELD, gettext_lazy("%(n)s held")),
)


def _answer_summary(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    """The answers to invitations given in one window (``payload.since`` … ``payload.until``), for one
    coordinator, per meeting as they stand now; nothing to say (all were taken back or reset) is Stale."""
    from .reconcile import coordinators_for  # reconcile imports nothing of compose; keep it so

    since = datetime.fromisoformat(row.payload["since"])
    until = datetime.fromisoformat(row.payload["until"])
    rows = answers.answers_between(since=since, until=until)
    every = [p.pk for p in coordinators_for(None)] if any(r.coordinator_id is None for r in rows) else []
    mine = answers.answers_for(person.pk, rows, every)
    if not mine:
        raise Stale("no answers left in this window")
    meetings = {m.pk: m for m in Meeting.objects.filter(pk__in={r.meeting_id for r in mine})
                .select_related("programme_slot__visit__delegation")}
    roles = {(m, p): role for m, p, role in Participation.objects.filter(meeting_id__in=meetings).order_by()
             .values_list("meeting_id", "person_id", "role")}
    names = dict(Person.objects.filter(pk__in={r.person_id for r in mine}).values_list("pk", "name"))
    counters = {c.pk: c for c in CounterProposal.objects.filter(pk__in=[r.counter_id for r in mine if r.counter_id])}
    repairs = answers.repair_proposals(meetings)
    by_meeting: dict[int, list[answers.AnswerRow]] = {}
    for r in sorted(mine, key=lambda r: (r.at, r.person_id)):
        by_meeting.setdefault(r.meeting_id, []).append(r)
    with translation.override(lang):
        shown = []
        for meeting in sorted((meetings[i] for i in by_meeting), key=lambda m: (m.starts_at, m.pk)):
            slot = getattr(meeting, "programme_slot", None)
            visit = slot.visit if slot is not None else None
            lines = []
            for r in by_meeting[meeting.pk]:
                role = roles.get((meeting.pk, r.person_id), "")
                who = names.get(r.person_id, "")
                if role in ROLE_WORDS:
                    who = f"{who} ({ROLE_WORDS[role]})"
                counter = counters.get(r.counter_id or 0)
                when = format_span(counter.starts_at, counter.ends_at, meeting.timezone, lang) if counter else ""
                lines.append(str(ANSWER_LINES[r.answer]) % {"who": who, "when": when})
            repair = repairs.get(meeting.pk)
            shown.append({
                "title": meeting.title,
                "when": format_span(meeting.starts_at, meeting.ends_at, meeting.timezone, lang),
                "visit": f"{visit.reference} · {visit.delegation.name}" if visit is not None else "",
                "lines": lines,
                "needs_repair": any(r.answer == answers.Answer.DECLINED and r.required for r in by_meeting[meeting.pk]),
                "repair_url": link_for("visit-repair", repair) if repair else "",
                "visit_url": link_for("visit-planner", visit) + "#answers" if visit is not None else "",
            })
        tally = {kind: sum(1 for r in mine if r.answer == kind) for kind, _ in ANSWER_COUNTS}
        counts = ", ".join(str(words) % {"n": tally[kind]} for kind, words in ANSWER_COUNTS if tally[kind])
        context = {
            "person": person, "meetings": shown, "counts": counts, "total": len(mine),
            "until": format_moment(until, person.timezone, lang, with_date=True),
        }
    subject, text, html = render("answer_summary", lang, context)
    return Rendered(subject, text, html)


# --- the delegation's programme mail ---------------------------------------------------------


def programme_links(visit: Visit, person: Person) -> dict[str, str]:
    """Where this reader finds the programme page and PDF: the requester through their status page,
    a member through their signed itinerary link (neither needs an account)."""
    if person.pk == visit.contact_id:
        return {"status_url": visit_status_url(visit), "itinerary_url": "",
                "programme_url": link_for("visit-programme", visit)}
    return {"status_url": "", "itinerary_url": links.itinerary_url(visit_id=visit.pk, person=person),
            "programme_url": links.itinerary_programme_url(visit_id=visit.pk, person=person)}


def _change_words(meeting: Meeting, since_sequence: int, lang: str) -> str:
    lines = describe_changes(meeting, since_sequence, lang)
    with translation.override(lang):
        return "; ".join(lines) if lines else gettext("details changed")


def _programme(row: OutboxMessage, person: Person, lang: str) -> Rendered:
    """One mail with the whole programme (first time, or sent again) or with what changed: the programme
    in the body, the PDF and one METHOD:PUBLISH .ics with the reader's meetings attached.

    Rendered from what is stored now, and refused (``Stale``) unless that is exactly the view the row
    was owed for (``payload.fingerprint``) and nobody was told anything since (``payload.revision``):
    a later change has its own row, so two rows never tell the same thing."""
    from .reconcile import PROGRAMME_CLOSED_STATES  # reconcile imports nothing of compose; keep it so

    visit = Visit.objects.select_related("delegation__organisation", "contact", "coordinator", "venue").get(
        pk=cast(int, row.visit_id))
    if visit.delegation_mail != Visit.DelegationMail.PROGRAMME or visit.programme_sent_at is None:
        raise Stale("the visit's delegation receives per-meeting invitations")
    if person.pk not in programme_recipient_ids(visit):
        raise Stale("the person is no longer in the delegation")
    state = ProgrammeState.objects.filter(person=person, visit=visit).first()
    if visit.status not in VISIBLE_VISIT_STATES and (state is None or visit.status not in PROGRAMME_CLOSED_STATES):
        raise Stale(f"the visit is {visit.status}")
    if (state.revision if state else 0) != row.payload.get("revision"):
        raise Stale("another programme mail reached the person meanwhile")
    meetings = {m.pk: m for m in meeting_list().filter(programme_slot__visit=visit)}
    view = programme.person_view(
        person_id=person.pk,
        meetings=[programme.ProgrammeMeeting(id=m.pk, sequence=m.sequence, scheduled=not m.is_cancelled,
                                             participants=frozenset(p.person_id for p in m.participations.all()))
                  for m in meetings.values()],
        told=state.meetings if state else None,
    )
    current = programme.fingerprint(view)
    if current != row.payload.get("fingerprint"):
        raise Stale("the programme changed again; the mail owed for that replaces this one")
    first = row.kind == Kind.PROGRAMME
    diff = programme.difference(view, None if first or state is None else state.meetings)
    # Moved and moved back (renamed and renamed back) before the mail went out: the entry they have
    # is still right, as for invites (``net_changes``); nothing worth a mail is left.
    diff = replace(diff, changed=tuple((i, told) for i, told in diff.changed
                                       if net_changes(meetings[i], told) != {}))
    if not first and not diff:
        raise Stale("nothing changed since the person was last told")

    shown = sorted((meetings[int(k)] for k in view), key=lambda m: (m.starts_at, m.pk))
    cancelled = {int(k) for k, (_seq, status) in view.items() if status == programme.CANCELLED}
    document = programme_document(visit, lang=lang)
    pdf, _version = programme_pdf(visit, lang=lang)
    calendar = render_publish(
        [meeting_data(m, with_attendees=False) for m in shown],
        organizer_name=settings.VISITDESK_ORGANIZER_NAME, organizer_email=settings.VISITDESK_ORGANIZER_EMAIL,
        cancelled=cancelled, link=meeting_links_for_person(person),
        name=f"{visit.delegation.name} – {visit.reference}", language=lang,
    )

    def line(meeting: Meeting) -> dict[str, Any]:
        return {"meeting": meeting, "when": format_span(meeting.starts_at, meeting.ends_at, meeting.timezone, lang),
                "where": where(meeting)}

    with translation.override(lang):
        changes = {
            "added": [line(meetings[i]) for i in diff.added],
            "changed": [{**line(meetings[i]), "what": _change_words(meetings[i], told, lang)} for i, told in diff.changed],
            "cancelled": [{**line(meetings[i]), "removed": not meetings[i].is_cancelled} for i in diff.cancelled],
        }
        context = {
            "person": person,
            "visit": visit,
            "doc": document,
            "first": first,
            "changes": changes if not first else None,
            "feed": feed_links(visit_feed_url(visit)),
            **programme_links(visit, person),
            "organizer_name": settings.VISITDESK_ORGANIZER_NAME,
            "organizer_email": settings.VISITDESK_ORGANIZER_EMAIL,
            # Set by coordinators, not typed by the requester: the online links and whom to call.
            "product_links": [*(m.online_url for m in shown if m.online_url), document.coordinator_email],
        }
    subject, text, html = render("programme" if first else "programme_update", lang, context)
    ics_name = f"programme-{visit.reference}.ics"
    attachments = (
        Attachment(pdf, programme_filename(visit, lang), "application", "pdf"),
        Attachment(calendar, ics_name, "text", "calendar", (("method", "PUBLISH"), ("charset", "utf-8"))),
    )
    told = ProgrammeTold(visit_id=visit.pk, fingerprint=current, meetings=view)
    return Rendered(subject, text, html, attachments=attachments, programme_told=told)


BUILDERS: dict[Kind, Builder] = {
    Kind.INVITE: _imip,
    Kind.UPDATE: _imip,
    Kind.CANCEL: _imip,
    Kind.REMINDER: _reminder,
    Kind.VISIT_REMINDER: _visit("visit_reminder", require=(Visit.Status.CONFIRMED,)),
    Kind.VISIT_ACK: _visit("visit_ack"),
    Kind.VISIT_CONFIRMED: _visit("visit_confirmed", require=(Visit.Status.CONFIRMED, Visit.Status.COMPLETED)),
    Kind.VISIT_DECLINED: _visit("visit_declined", require=(Visit.Status.DECLINED,)),
    Kind.VISIT_CANCELLED: _visit("visit_cancelled", require=(Visit.Status.CANCELLED,)),
    Kind.COORDINATOR_NEW_REQUEST: _visit("coordinator_new_request"),
    Kind.COORDINATOR_RSVP_DECLINED: _rsvp_declined,
    Kind.ANSWER_SUMMARY: _answer_summary,
    Kind.DECLINE_COUNTER: _decline_counter,
    Kind.MAILBOX_FORWARD: _mailbox_forward,
    Kind.PROGRAMME: _programme,
    Kind.PROGRAMME_UPDATE: _programme,
}
