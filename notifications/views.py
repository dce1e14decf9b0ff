"""Pages behind the signed links in mails: answer an invite, stop (or resume) reminders, read the
visit itinerary.

RSVP: GET only shows a confirmation form; the change happens on POST (with CSRF). Mail scanners
and link previews fetch every URL in a message, and must not accept or decline meetings on the
reader's behalf. A cancelled meeting takes no answer: the page says so (410) and nothing is stored.

Reminders opt-out is RFC 8058 one-click: mail providers POST ``List-Unsubscribe=One-Click`` to the
URL from ``List-Unsubscribe`` with no cookie and no CSRF token, so that view is CSRF-exempt. That is
safe because it uses no session at all: the signed token in the path is the only credential, and a
cross-site form could not forge it.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from calendars.links import feed_links, visit_feed_url
from core.errors import ValidationFailed
from directory.models import Person
from directory.services import person_set_reminders_opt_out
from events.errors import MeetingCancelled
from events.models import Participation
from visits import booking
from visits.models import Visit
from visits.programme_document import document_language, other_language, programme_response, requested_language
from visits.selectors import VISIBLE_VISIT_STATES, programme_meetings

from . import links
from .compose import format_span, language_of, where


@require_http_methods(["GET", "POST"])
def rsvp(request: HttpRequest, token: str, answer: str) -> HttpResponse:
    found = links.read_rsvp_token(token)
    if found is None or answer not in links.RSVP_ANSWERS:
        raise Http404
    meeting_id, person_id = found
    participation = (
        Participation.objects.select_related("meeting", "person")
        .filter(meeting_id=meeting_id, person_id=person_id)
        .first()
    )
    if participation is None or participation.meeting.ends_at < timezone.now():
        raise Http404  # removed or over: the link is dead
    lang = language_of(participation.person)
    done = False
    cancelled = participation.meeting.is_cancelled
    if request.method == "POST" and not cancelled:
        try:
            participation = booking.meeting_answer(participation=participation, answer=answer)
            done = True
        except MeetingCancelled:  # cancelled between the page and the click
            cancelled = True
    meeting = participation.meeting
    with translation.override(lang):
        return render(
            request,
            "notifications/rsvp.html",
            {
                "lang": lang,
                "participation": participation,
                "meeting": meeting,
                "answer": answer,
                "done": done,
                "cancelled": cancelled,
                "when": format_span(meeting.starts_at, meeting.ends_at, meeting.timezone, lang,
                                    participation.person.timezone),
            },
            status=410 if cancelled else 200,
        )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def reminders_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    person_id = links.read_opt_out_token(token)
    person = Person.objects.filter(pk=person_id).first() if person_id else None
    if person is None:
        raise Http404
    done = False
    if request.method == "POST":
        # The one-click body is ``List-Unsubscribe=One-Click``; only the page's own "receive them
        # again" button sends ``opt_out=0``.
        opt_out = request.POST.get("opt_out", "1") != "0"
        person = person_set_reminders_opt_out(person=person, opt_out=opt_out)
        done = True
    lang = language_of(person)
    with translation.override(lang):
        return render(request, "notifications/opt_out.html", {"lang": lang, "person": person, "done": done})


def _member_and_visit(token: str) -> tuple[Person, Visit]:
    """The member and visit a signed itinerary link names; 404 for a forged or revoked link or
    someone no longer a member."""
    found = links.read_itinerary_token(token)
    if found is None:
        raise Http404
    visit_id, person_id, tag = found
    person = Person.objects.filter(pk=person_id).first()
    visit = Visit.objects.select_related("delegation").filter(pk=visit_id, delegation__members=person).first()
    if person is None or visit is None or not links.itinerary_token_current(tag, person):
        raise Http404
    return person, visit


@require_safe
def itinerary_programme(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """The programme page or PDF behind a member's itinerary link, in their language (``?lang=`` chooses)."""
    person, visit = _member_and_visit(token)
    if visit.status not in VISIBLE_VISIT_STATES:
        raise Http404
    try:
        lang = document_language(requested_language(request.GET.get("lang")), language_of(person))
    except ValidationFailed as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    other, other_name = other_language(lang)
    page = reverse("notifications:itinerary-programme", kwargs={"token": token})
    page_links = {"pdf": reverse("notifications:itinerary-programme-pdf", kwargs={"token": token}) + f"?lang={lang}",
                  "other_lang": f"{page}?lang={other}", "other_lang_code": other, "other_lang_name": other_name,
                  "back": reverse("notifications:itinerary", kwargs={"token": token})}
    return programme_response(request, visit, lang=lang, fmt=fmt, links=page_links)


@never_cache
@require_safe
def itinerary(request: HttpRequest, token: str) -> HttpResponse:
    """A delegation member's read-only view of the visit: dates, programme, calendar feed.

    Unlike the requester's status page it offers no cancel, no messages: members receive this link,
    the requester the status link. 404 for a forged or revoked link or someone no longer a member.
    """
    person, visit = _member_and_visit(token)
    lang = language_of(person)
    shown = visit.status in (Visit.Status.CONFIRMED, Visit.Status.COMPLETED)
    programme = [
        {"meeting": m, "when": format_span(m.starts_at, m.ends_at, m.timezone, lang, person.timezone), "where": where(m)}
        for m in (programme_meetings(visit=visit) if shown else [])
        if not m.is_cancelled
    ]
    with translation.override(lang):
        response = render(request, "notifications/itinerary.html", {
            "lang": lang, "person": person, "visit": visit, "programme": programme,
            "feed": feed_links(visit_feed_url(visit)) if shown else None,
            "programme_page": reverse("notifications:itinerary-programme", kwargs={"token": token}) if shown else "",
            "programme_pdf": reverse("notifications:itinerary-programme-pdf", kwargs={"token": token}) if shown else "",
        })
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
