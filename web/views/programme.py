"""The programme document (``visits.programme_document``) on the web: for coordinators and hosts from
the visit page, for the requester behind the status link; and the coordinator's "Send programme".

The page and the PDF come in the reader's language: ``?lang=en|de`` chooses, otherwise the staff
member's browser language (``Accept-Language``) or the requester's own language. A delegation member
reaches the same document through the itinerary link in their mails (``notifications.views``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.errors import DomainError, ValidationFailed
from visits import services as visit_services
from visits.programme_document import document_language, other_language, programme_response, requested_language
from visits.selectors import VISIBLE_VISIT_STATES

from ..throttle import throttled
from .public import _visit_or_404
from .staff import _coordinator_visit_or_404, _person, _visible_visit_or_404


def _links(url_name: str, kwargs: dict[str, object], lang: str, back: str) -> dict[str, str]:
    other, name = other_language(lang)
    base = reverse(url_name, kwargs={**kwargs, "fmt": "html"})
    return {"pdf": reverse(url_name, kwargs={**kwargs, "fmt": "pdf"}) + f"?lang={lang}",
            "other_lang": f"{base}?lang={other}", "other_lang_code": other, "other_lang_name": name, "back": back}


def _language(request: HttpRequest, *fallbacks: str | None) -> str | HttpResponse:
    try:
        asked = requested_language(request.GET.get("lang"))
    except ValidationFailed as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    return document_language(asked, *fallbacks)


@login_required
@require_safe
def staff_programme(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """``/staff/visits/<id>/programme.pdf`` and ``.html``: whoever may see the visit."""
    visit = _visible_visit_or_404(request.user, pk)
    lang = _language(request, get_language())
    if isinstance(lang, HttpResponse):
        return lang
    links = _links("web:staff-visit-programme", {"pk": visit.pk}, lang, reverse("web:staff-visit", args=[visit.pk]))
    return programme_response(request, visit, lang=lang, fmt=fmt, links=links)


@require_safe
@throttled("status")
def status_programme(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """``/visits/status/<token>/programme.pdf`` and ``.html``: the requester's, once the visit is confirmed."""
    visit = _visit_or_404(token)
    if visit.status not in VISIBLE_VISIT_STATES:
        raise Http404
    lang = _language(request, visit.contact.language)
    if isinstance(lang, HttpResponse):
        return lang
    links = _links("web:visit-status-programme", {"token": token}, lang,
                   reverse("web:visit-status", kwargs={"token": token}))
    return programme_response(request, visit, lang=lang, fmt=fmt, links=links)


@login_required
@require_POST
def send_programme(request: HttpRequest, pk: int) -> HttpResponse:
    """"Send programme": each delegation member and the requester get the whole programme in one mail."""
    visit = _coordinator_visit_or_404(request, pk)
    try:
        visit_services.visit_programme_send(visit=visit, by=_person(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The programme of %(reference)s is on its way to the delegation.")
                         % {"reference": visit.reference})
    return redirect("web:staff-visit", pk=visit.pk)

