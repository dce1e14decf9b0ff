"""The programme document: a visit's programme as one page and one PDF, in the reader's language.

What a visiting managing director carries: the visit's name and dates, the venue with its address
and how to get there, whom to call (the coordinator's name, e-mail and phone), then per day a time
table — time, title, room or online link, hosts with their job titles, agenda topics — and the
delegation's names. English and German come from one template (``visits/programme.html``) rendered
under ``translation.override``; the time zone is stated once, every time is local to the visit.

The same template is the HTML page (linked stylesheet, a small toolbar) and, through WeasyPrint, the
A4 PDF (``visits/static/visits/programme.css``: each day starts a new page, no meeting is split across
two). Building a PDF takes a few hundred milliseconds, so each one is cached per *programme version*
(``programme_version``: the visit, its delegation and every programme meeting's last change) and
language: any change to a meeting moves ``updated_at`` and with it the key; nothing is invalidated
by hand, and a stale entry is never served.

Everything here reads; nothing writes. WeasyPrint is imported only when a PDF is built.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import pgettext

from core.errors import ValidationFailed
from directory.models import Language
from events.models import Meeting, Participation
from events.selectors import meeting_list

from .models import Visit

LANGUAGES = tuple(code for code, _ in Language.choices)
STYLESHEET = Path(__file__).resolve().parent / "static" / "visits" / "programme.css"
#: Bump when the template or stylesheet changes in a way that must not be served from the cache.
DOCUMENT_VERSION = "1"
#: Whom a meeting row names, in this order (the delegation's own guests are listed once, at the end).
HOST_ORDER = (Participation.Role.CHAIR, Participation.Role.HOST, Participation.Role.PRESENTER)
#: Cached PDFs live a week at most; a new programme version is a new key anyway.
CACHE_SECONDS = 7 * 24 * 3600


def requested_language(value: str | None) -> str | None:
    """``?lang=`` as given: None when absent, the code when it is a document language, else a 400."""
    if value is None or value == "":
        return None
    if value.lower() not in LANGUAGES:
        raise ValidationFailed(f"Choose one of: {', '.join(LANGUAGES)}.", field="lang")
    return value.lower()


def document_language(*candidates: str | None) -> str:
    """The first candidate that is a language the document is written in (English otherwise)."""
    for candidate in candidates:
        code = (candidate or "").lower()[:2]
        if code in LANGUAGES:
            return code
    return Language.EN


def long_date_format() -> str:
    """The long date of the active language (the mails' format: "Montag, 1. Dezember 2026")."""
    return pgettext("long date format", "l, j F Y")


# --- the document as data ----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLine:
    name: str
    job_title: str
    role: str = ""  # a participation role (chair, host, presenter) where it matters


@dataclass(frozen=True)
class AgendaLine:
    title: str
    topic: str
    presenter: str
    minutes: int | None


@dataclass(frozen=True)
class Item:
    """One meeting as the programme shows it; times local to the visit."""

    meeting_id: int
    uid: str
    sequence: int
    starts: datetime
    ends: datetime
    title: str
    description: str
    kind: str  # the programme part (welcome, topic, lunch, break, wrap-up) or ""
    room: str
    venue: str  # the room's venue when it is not the visit's own, else ""
    location: str
    online_url: str
    hosts: tuple[PersonLine, ...]
    agenda: tuple[AgendaLine, ...]

    @property
    def time(self) -> str:
        return f"{self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def place(self) -> str:
        """Where to go, in one line: room (and venue when elsewhere), or the free-text place."""
        if self.room:
            return ", ".join(p for p in (self.room, self.location, self.venue) if p)
        return self.location

    @property
    def is_break(self) -> bool:
        return self.kind in ("lunch", "break")


@dataclass(frozen=True)
class Day:
    day: date
    label: str  # the long date in the document's language
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Document:
    lang: str
    version: str
    reference: str
    delegation: str
    organisation: str
    dates: str
    timezone: str
    venue_name: str
    venue_address: str
    venue_directions: str
    coordinator: PersonLine
    coordinator_email: str
    coordinator_phone: str
    days: tuple[Day, ...]
    delegation_members: tuple[PersonLine, ...]

    @property
    def title(self) -> str:
        return f"{self.delegation} – {self.reference}"

    @property
    def meeting_count(self) -> int:
        return sum(len(d.items) for d in self.days)


def programme_meetings_for_document(visit: Visit) -> QuerySet[Meeting]:
    """The scheduled meetings of the programme, with what the document shows joined."""
    return (meeting_list(include_cancelled=False).filter(programme_slot__visit=visit)
            .select_related("programme_slot").order_by("starts_at", "pk"))


def programme_version(visit: Visit) -> str:
    """Changes whenever anything the document shows may have changed: the visit row, its delegation's
    members, and each programme meeting's last change (``updated_at`` moves on every write to a
    meeting: fields, agenda, participants, cancellation)."""
    meetings = list(Meeting.objects.filter(programme_slot__visit=visit).order_by("pk")
                    .values_list("pk", "sequence", "status", "updated_at"))
    members = sorted(visit.delegation.members.values_list("pk", flat=True))
    parts = [DOCUMENT_VERSION, visit.pk, visit.updated_at.isoformat(), visit.venue_id, visit.coordinator_id,
             visit.delegation_id, visit.delegation.lead_id, members,
             [(pk, seq, status, changed.isoformat()) for pk, seq, status, changed in meetings]]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def _person(p: Any, role: str = "") -> PersonLine:
    return PersonLine(name=p.name, job_title=p.job_title, role=role)


def _items(meetings: list[Meeting], zone: zoneinfo.ZoneInfo, visit: Visit) -> list[Item]:
    items = []
    for m in meetings:
        room = m.room
        hosts = tuple(
            _person(p.person, p.role)
            for p in sorted((p for p in m.participations.all() if p.role in HOST_ORDER),
                            key=lambda p: (HOST_ORDER.index(p.role), p.person.name))
        )
        slot = getattr(m, "programme_slot", None)
        items.append(Item(
            meeting_id=m.pk, uid=m.uid, sequence=m.sequence,
            starts=m.starts_at.astimezone(zone), ends=m.ends_at.astimezone(zone),
            title=" ".join(m.title.split()), description=m.description.strip(), kind=slot.kind if slot else "",
            room=room.name if room else "",
            venue=room.venue.name if room is not None and room.venue_id != visit.venue_id else "",
            location=" ".join(m.location.split()), online_url=m.online_url, hosts=hosts,
            agenda=tuple(AgendaLine(title=a.title, topic=a.topic.name if a.topic else "",
                                    presenter=a.presenter.name if a.presenter else "", minutes=a.minutes)
                         for a in m.agenda_items.all()),
        ))
    return items


def programme_document(visit: Visit, *, lang: str, version: str | None = None) -> Document:
    """The document's content for ``visit`` in ``lang`` (dates and words; names stay as typed)."""
    visit = (Visit.objects.select_related("delegation__organisation", "delegation__lead", "venue", "coordinator",
                                          "contact").get(pk=visit.pk))
    zone = zoneinfo.ZoneInfo(visit.timezone)
    items = _items(list(programme_meetings_for_document(visit)), zone, visit)
    by_day: dict[date, list[Item]] = defaultdict(list)
    for item in items:
        by_day[item.starts.date()].append(item)
    members = list(visit.delegation.members.all().order_by("name"))
    lead = visit.delegation.lead
    if lead is not None and lead not in members:
        members.insert(0, lead)
    elif lead is not None:  # the head of the delegation first
        members.remove(lead)
        members.insert(0, lead)
    coordinator = visit.coordinator
    venue = visit.venue
    with translation.override(lang):
        long = long_date_format()
        days = tuple(Day(day=d, label=date_format(d, long), items=tuple(by_day[d])) for d in sorted(by_day))
        first, last = visit.starts_on, visit.ends_on
        if first is None and days:
            first, last = days[0].day, days[-1].day
        dates = ""
        if first is not None:
            dates = date_format(first, long)
            if last is not None and last != first:
                dates += " – " + date_format(last, long)
    return Document(
        lang=lang,
        version=version or programme_version(visit),
        reference=visit.reference,
        delegation=visit.delegation.name,
        organisation=visit.delegation.organisation.name,
        dates=dates,
        timezone=visit.timezone,
        venue_name=venue.name if venue else "",
        venue_address=venue.address if venue else "",
        venue_directions=venue.directions.strip() if venue else "",
        coordinator=_person(coordinator) if coordinator else PersonLine(name=settings.VISITDESK_ORGANIZER_NAME,
                                                                        job_title=""),
        coordinator_email=coordinator.email if coordinator else settings.VISITDESK_ORGANIZER_EMAIL,
        coordinator_phone=coordinator.phone if coordinator else "",
        days=days,
        delegation_members=tuple(_person(p) for p in members),
    )


# --- HTML and PDF ------------------------------------------------------------------------------


def programme_html(document: Document, *, for_pdf: bool = False, links: dict[str, str] | None = None) -> str:
    """The document as HTML. The page links the stylesheet and shows a toolbar (``links``: ``pdf``,
    ``other_lang`` with ``other_lang_code`` / ``other_lang_name``, ``back``); the PDF gets neither
    (WeasyPrint is handed the stylesheet)."""
    with translation.override(document.lang):
        return render_to_string("visits/programme.html", {"doc": document, "for_pdf": for_pdf, "links": links or {}})


def other_language(lang: str) -> tuple[str, str]:
    """(code, name in its own language) of the document's other language, for the page's switch."""
    code = next(c for c in LANGUAGES if c != lang)
    return code, dict(Language.choices)[code]


def render_pdf(html: str) -> bytes:
    """HTML → A4 PDF bytes (WeasyPrint; fonts from fontconfig, DejaVu Sans on Debian)."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # untyped; a heavy import, needed only here

    stylesheet = CSS(filename=str(STYLESHEET))
    return bytes(HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(stylesheets=[stylesheet]))


def programme_pdf(visit: Visit, *, lang: str) -> tuple[bytes, str]:
    """(PDF bytes, programme version) for ``visit`` in ``lang``, from the cache when this version
    was built before."""
    lang = document_language(lang)
    version = programme_version(visit)
    key = f"programme-pdf:{visit.pk}:{version}:{lang}"
    pdf = cache.get(key)
    if isinstance(pdf, bytes):
        return pdf, version
    pdf = render_pdf(programme_html(programme_document(visit, lang=lang, version=version), for_pdf=True))
    cache.set(key, pdf, CACHE_SECONDS)
    return pdf, version


def programme_filename(visit: Visit, lang: str, extension: str = "pdf") -> str:
    return f"programme-{visit.reference}-{lang}.{extension}"


# --- HTTP (every interface serves the document the same way) ------------------------------------


def programme_response(request: HttpRequest, visit: Visit, *, lang: str, fmt: str,
                       links: dict[str, str] | None = None) -> HttpResponse:
    """The page (``fmt="html"``) or the PDF, with an ETag of the programme version and language (a
    client holding this version gets 304 without anything being built), never cached by shared caches
    (the document names people), never indexed."""
    version = programme_version(visit)
    etag = f'"{version}-{lang}-{fmt}"'
    response: HttpResponse | None = get_conditional_response(request, etag=etag)
    if response is None:
        if fmt == "pdf":
            pdf, _ = programme_pdf(visit, lang=lang)
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{programme_filename(visit, lang)}"'
        else:
            document = programme_document(visit, lang=lang, version=version)
            response = HttpResponse(programme_html(document, links=links), content_type="text/html; charset=utf-8")
    response["ETag"] = etag
    response["Content-Language"] = lang
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    patch_vary_headers(response, ["Accept-Language"])
    return response
