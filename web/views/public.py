"""Pages without an account: home, request a visit, and the requester's private status page.

Every write goes through ``visits.services``; the views only translate form input into the
service's dataclass and a ``DomainError`` back into a message next to the right field.
"""

from __future__ import annotations

from django.contrib import messages
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from calendars.links import feed_links, public_feed_url, visit_feed_url
from core.errors import DomainError, ValidationFailed
from events.selectors import upcoming_public_events
from visits import services as visit_services
from visits.booking import programme_is_open
from visits.links import visit_status_url
from visits.models import Visit, VisitMessage
from visits.selectors import VISIBLE_VISIT_STATES, programme_meetings, visit_by_status_token

from ..forms import (
    MAX_MEMBERS,
    MAX_WINDOWS,
    CancelForm,
    MemberFormSet,
    QuietFormSet,
    RescheduleForm,
    VisitRequestForm,
    WindowFormSet,
    visit_request_input,
)
from ..labels import label, service_message
from ..programme import itinerary
from ..throttle import throttled

SESSION_LAST_REQUEST = "web.last_visit_request"


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/home.html",
        {"events": upcoming_public_events()[:12], "public_feed": feed_links(public_feed_url())},
    )


# --- request a visit -------------------------------------------------------------------------

ADD_ROW_BUTTONS = {"add_member": ("members", MAX_MEMBERS), "add_window": ("windows", MAX_WINDOWS)}


def _add_row_asked(request: HttpRequest) -> str | None:
    return next((name for name in ADD_ROW_BUTTONS if name in request.POST), None)


def _is_submission(request: HttpRequest) -> bool:
    return request.method == "POST" and _add_row_asked(request) is None


def _error_links(form: BaseForm, members: QuietFormSet, windows: QuietFormSet) -> list[tuple[str, str]]:
    """(anchor, text) for each problem, so the summary on top links to the field that needs fixing."""

    def field_links(f: BaseForm) -> list[tuple[str, str]]:
        return [
            (f"#{f[name].auto_id}", f"{f[name].label}: {errors[0]}") if name in f.fields else ("#main", str(errors[0]))
            for name, errors in f.errors.items()
        ]

    links = field_links(form)
    for formset, anchor in ((members, "#members"), (windows, "#windows")):
        links += [(anchor, str(error)) for error in formset.non_form_errors()]
        for row in formset.forms:
            links += field_links(row)
    return links


def _with_extra_row(post: QueryDict, prefix: str, cap: int) -> QueryDict:
    data = post.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(data.get(key, "0"))
    except ValueError:
        total = 0
    data[key] = str(min(cap, max(0, total) + 1))
    return data


# Where a service ValidationFailed is shown: a form field, or a formset's non-form errors.
_SERVICE_FIELDS = {
    "delegation.size": ("form", "delegation_size"),
    "delegation.members": ("members", None),
    "preferred_windows": ("windows", None),
    "contact.email": ("form", "contact_email"),
    "organisation.name": ("form", "organisation_name"),
}


def _show_service_error(exc: DomainError, form: BaseForm, members: QuietFormSet, windows: QuietFormSet) -> None:
    target, field_name = _SERVICE_FIELDS.get(exc.field or "", ("form", None))
    if target == "form":
        form.add_error(field_name if field_name in form.fields else None, str(service_message(exc.message)))
    else:
        formset = members if target == "members" else windows
        formset.non_form_errors().append(str(service_message(exc.message)))


@csrf_protect
@require_http_methods(["GET", "POST"])
@throttled("visit_request", methods=("POST",), when=_is_submission)
def visit_request(request: HttpRequest) -> HttpResponse:
    quiet = False  # "add a row" re-renders what was typed without complaining about it yet
    if request.method == "POST":
        data: QueryDict = request.POST
        add_row = _add_row_asked(request)
        if add_row:
            prefix, cap = ADD_ROW_BUTTONS[add_row]
            data = _with_extra_row(data, prefix, cap)
            quiet = True
        form = VisitRequestForm(data, quiet=quiet)
        members = MemberFormSet(data, prefix="members", quiet=quiet)
        windows = WindowFormSet(data, prefix="windows", quiet=quiet)
        if not add_row and form.is_valid() & members.is_valid() & windows.is_valid():
            if len([m for m in members.forms if m.cleaned_data]) > form.cleaned_data["delegation_size"]:
                members.non_form_errors().append(_("You listed more members than the number of people travelling."))
            else:
                try:
                    visit = visit_services.visit_request_submit(data=visit_request_input(form, members, windows))
                except ValidationFailed as exc:
                    _show_service_error(exc, form, members, windows)
                else:
                    request.session[SESSION_LAST_REQUEST] = visit.pk
                    return redirect("web:visit-request-sent")
        status = 200 if quiet else 400
    else:
        form = VisitRequestForm(initial={"contact_language": (request.LANGUAGE_CODE or "en")[:2]})
        members = MemberFormSet(prefix="members")
        windows = WindowFormSet(prefix="windows")
        status = 200
    context: dict[str, object] = {"form": form, "members": members, "windows": windows, "quiet": quiet,
               "error_links": _error_links(form, members, windows) if status == 400 else []}
    return render(request, "web/visit_request.html", context, status=status)


@never_cache
def visit_request_sent(request: HttpRequest) -> HttpResponse:
    """After the redirect: the reference and the private link, shown to the browser that asked."""
    last = request.session.get(SESSION_LAST_REQUEST)
    visit = Visit.objects.filter(pk=last).select_related("delegation").first() if isinstance(last, int) else None
    if visit is None:
        return redirect("web:visit-request")
    return render(request, "web/visit_request_sent.html", {"visit": visit, "status_url": visit_status_url(visit)})


# --- the requester's status page -------------------------------------------------------------


def _visit_or_404(token: str) -> Visit:
    visit = visit_by_status_token(token)
    if visit is None:
        raise Http404
    return visit


def _status_page(request: HttpRequest, visit: Visit, *, reschedule_form: RescheduleForm | None = None,
                 status: int = 200) -> HttpResponse:
    meetings = list(programme_meetings(visit=visit))
    context = {
        "visit": visit,
        "days": itinerary(meetings, visit.timezone),
        "feed": feed_links(visit_feed_url(visit)),
        "is_open": programme_is_open(visit),
        "programme_document": visit.status in VISIBLE_VISIT_STATES,
        "reschedule_form": reschedule_form or RescheduleForm(),
        "visit_messages": visit.messages.filter(from_requester=True),
    }
    return render(request, "web/visit_status.html", context, status=status)


@never_cache
@throttled("status")
def visit_status(request: HttpRequest, token: str) -> HttpResponse:
    return _status_page(request, _visit_or_404(token))


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@throttled("status")
def visit_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks "are you sure?", POST cancels: a stray click or link prefetch never cancels a visit."""
    visit = _visit_or_404(token)
    form = CancelForm(request.POST or None)
    if not programme_is_open(visit):
        messages.info(request, _("This visit is %(status)s and can no longer be cancelled.") % {
            "status": label(visit.status)})
        return redirect(reverse("web:visit-status", kwargs={"token": token}))
    if request.method == "POST" and form.is_valid():
        try:
            visit_services.visit_cancel(visit=visit, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your visit %(reference)s is cancelled.") % {"reference": visit.reference})
        return redirect(reverse("web:visit-status", kwargs={"token": token}))
    return render(request, "web/visit_cancel.html", {"visit": visit, "form": form})


@never_cache
@csrf_protect
@require_http_methods(["POST"])
@throttled("status")
def visit_reschedule(request: HttpRequest, token: str) -> HttpResponse:
    visit = _visit_or_404(token)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            visit_services.visit_message_add(
                visit=visit, body=form.cleaned_data["body"], kind=VisitMessage.Kind.RESCHEDULE_REQUEST
            )
        except ValidationFailed as exc:
            form.add_error("body", exc.message)
        except DomainError as exc:  # the visit is closed: the message box is gone, say why on top
            messages.error(request, exc.message)
            return redirect(reverse("web:visit-status", kwargs={"token": token}))
        else:
            messages.success(request, _("Thank you. We will get back to you about other dates."))
            return redirect(reverse("web:visit-status", kwargs={"token": token}))
    return _status_page(request, visit, reschedule_form=form, status=400)
