"""Pages behind the login: coordinators (``core.roles.is_coordinator``: staff, superuser or the
"coordinators" group) see every visit and decide on requests; hosts (a user linked to a ``Person``)
see only the visits they take part in and answer RSVPs.

Anything a user may not see answers 404 rather than 403, so a reference or id reveals nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from calendars.links import feed_links, person_feed_url
from core.errors import DomainError
from core.roles import can_use_admin, is_coordinator, person_for_user
from directory.models import Person
from directory.services import person_rotate_feed_token
from events.models import Participation
from events.selectors import meetings_for_person
from notifications import replies
from notifications.models import CounterProposal
from visits import booking, rules
from visits import services as visit_services
from visits.days import suggested_dates
from visits.models import Visit
from visits.selectors import programme_meetings, visit_list, visits_visible_to_person

from ..answers import counters_for, meeting_answers, needing_repair
from ..forms import RSVP_CHOICES, ConfirmVisitForm, DeclineVisitForm, RsvpForm, VisitFilterForm
from ..planner import planner_config, planner_days, planner_people, planner_rooms, planner_texts
from ..programme import itinerary, timelines
from ..throttle import throttled


@method_decorator(throttled("login", methods=("POST",)), name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login with our template; password guesses are rate-limited per client IP."""

    template_name = "web/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a logout link in an <img> cannot sign anyone out."""


def _person(user: object) -> Person | None:
    person = person_for_user(user)
    return person if isinstance(person, Person) else None


def visible_visits(user: object) -> QuerySet[Visit]:
    if is_coordinator(user):
        return visit_list()
    person = _person(user)
    if person is None:
        return Visit.objects.none()
    return visits_visible_to_person(person=person)


def admin_url(model: type[Model], pk: int | None = None) -> str | None:
    """A link into the admin, or None while the model is not registered there."""
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{'change' if pk else 'changelist'}"
    try:
        return reverse(name, args=[pk] if pk else None)
    except NoReverseMatch:
        return None


def _visit_search(qs: QuerySet[Visit], q: str) -> QuerySet[Visit]:
    for word in q.split():
        qs = qs.filter(
            Q(reference__icontains=word)
            | Q(delegation__name__icontains=word)
            | Q(delegation__organisation__name__icontains=word)
            | Q(contact__name__icontains=word)
            | Q(contact__email__icontains=word)
        )
    return qs


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The visit list: filter by status, search by reference, delegation, organisation or contact."""
    filters = VisitFilterForm(request.GET or None)
    visits = visible_visits(request.user)
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            visits = visits.filter(status=filters.cleaned_data["status"])
        if filters.cleaned_data["q"]:
            visits = _visit_search(visits, filters.cleaned_data["q"])
    page = Paginator(visits.order_by("-requested_at"), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/staff/visit_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "is_coordinator": is_coordinator(request.user),
            "has_person": _person(request.user) is not None,
            "admin_visits": admin_url(Visit) if can_use_admin(request.user) else None,
        },
    )


def _visible_visit_or_404(user: object, pk: int) -> Visit:
    visit = visible_visits(user).filter(pk=pk).first()
    if visit is None:
        raise Http404
    return visit


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visible_visit_or_404(request.user, pk)
    coordinator = is_coordinator(request.user)
    return _visit_detail_page(request, visit, coordinator=coordinator)


def _visit_detail_page(request: HttpRequest, visit: Visit, *, coordinator: bool, confirm_form: Form | None = None,
                       decline_form: Form | None = None, status: int = 200) -> HttpResponse:
    meetings = list(programme_meetings(visit=visit))
    suggested = suggested_dates(visit)
    rooms = planner_rooms(visit)
    # Who declined, who has not answered: coordinators only (a host's read-only view shows the programme).
    answers = meeting_answers(meetings, visit_id=visit.pk) if coordinator else {}
    counters = counters_for(meetings, visit_id=visit.pk) if coordinator else []
    context: dict[str, object] = {
        "visit": visit,
        "timelines": timelines(meetings, visit.timezone, rooms=rooms, days=planner_days(visit), answers=answers,
                               counters=counters),
        "declines": needing_repair(answers),
        "counters": counters,
        "days": itinerary(meetings, visit.timezone),
        "is_coordinator": coordinator,
        "can_decide": coordinator and visit.status == Visit.Status.REQUESTED,
        "confirm_form": confirm_form
        or ConfirmVisitForm(initial={"starts_on": suggested[0], "ends_on": suggested[1]} if suggested else None),
        "decline_form": decline_form or DeclineVisitForm(),
        "visit_messages": visit.messages.all() if coordinator else [],
        "admin_visit": admin_url(Visit, visit.pk) if can_use_admin(request.user) else None,
    }
    if coordinator:
        # The rules the booked programme breaks (hand edits are saved all the same; visits.rules).
        context["check_broken"] = rules.broken(rules.visit_check(visit, language=get_language())) if meetings else []
        context["show_check"] = bool(meetings)
        people = planner_people(visit, meetings)
        context["planner_config"] = planner_config(visit=visit, timezone=visit.timezone, rooms=rooms, people=people,
                                                   proposal=request.GET.get("proposal"))
        context["planner_texts"] = planner_texts()
        context["planner_rooms"] = rooms
    return render(request, "web/staff/visit_detail.html", context, status=status)


def _coordinator_visit_or_404(request: HttpRequest, pk: int) -> Visit:
    if not is_coordinator(request.user):
        raise Http404
    return get_object_or_404(visit_list(), pk=pk)


@login_required
@require_POST
def visit_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _coordinator_visit_or_404(request, pk)
    form = ConfirmVisitForm(request.POST)
    if not form.is_valid():
        return _visit_detail_page(request, visit, coordinator=True, confirm_form=form, status=400)
    try:
        visit_services.visit_confirm(
            visit=visit,
            by=_person(request.user),
            starts_on=form.cleaned_data["starts_on"],
            ends_on=form.cleaned_data["ends_on"],
        )
    except DomainError as exc:
        if exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        else:  # e.g. already decided: the confirm form is no longer shown, so say it on top
            messages.error(request, exc.message)
        return _visit_detail_page(request, visit, coordinator=True, confirm_form=form, status=exc.status)
    messages.success(request, _("%(reference)s is confirmed.") % {"reference": visit.reference})
    holidays = rules.visit_holidays(visit, form.cleaned_data["starts_on"], form.cleaned_data["ends_on"],
                                    language=get_language())
    if holidays:  # the venue is closed then, like a room closure: nothing can be booked on those days
        messages.warning(request, _("Public holiday at the venue: %(days)s. Nothing can be booked that day.") % {
            "days": ", ".join(f"{date_format(d, 'j F')} ({name})" for d, name in holidays.items())})
    return redirect("web:staff-visit", pk=visit.pk)


@login_required
@require_POST
def visit_decline(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _coordinator_visit_or_404(request, pk)
    form = DeclineVisitForm(request.POST)
    if not form.is_valid():
        return _visit_detail_page(request, visit, coordinator=True, decline_form=form, status=400)
    try:
        visit_services.visit_decline(visit=visit, by=_person(request.user), reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return _visit_detail_page(request, visit, coordinator=True, decline_form=form, status=exc.status)
    messages.success(request, _("%(reference)s is declined.") % {"reference": visit.reference})
    return redirect("web:staff-visit", pk=visit.pk)


def _visit_counter_or_404(request: HttpRequest, pk: int, counter_id: int) -> CounterProposal:
    """A counter-proposal to a meeting of this visit (a coordinator's); anything else is 404."""
    visit = _coordinator_visit_or_404(request, pk)
    return get_object_or_404(CounterProposal.objects.select_related("meeting"), pk=counter_id,
                             meeting__programme_slot__visit=visit)


def _decide_counter(request: HttpRequest, pk: int, counter_id: int,
                    decide: Callable[[CounterProposal], object], done: str) -> HttpResponse:
    """Run one decision on a counter-proposal of this visit; a refusal (changed meanwhile, decided
    already, a clash) is said on the visit page next to the list."""
    counter = _visit_counter_or_404(request, pk, counter_id)
    try:
        decide(counter)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("web:staff-visit", kwargs={"pk": pk}) + "#counters")
    messages.success(request, done % {"title": counter.meeting.title})
    return redirect("web:staff-visit", pk=pk)


@login_required
@require_POST
def counter_accept(request: HttpRequest, pk: int, counter_id: int) -> HttpResponse:
    """Move the meeting to the time the person proposed (through ``visits.booking``: overlaps and
    availability are checked as for any move, and everyone gets the update)."""
    return _decide_counter(request, pk, counter_id, lambda c: replies.counter_accept(counter=c, user=request.user),
                           _("%(title)s moved to the proposed time; everyone gets the update."))


@login_required
@require_POST
def counter_decline(request: HttpRequest, pk: int, counter_id: int) -> HttpResponse:
    """Keep the meeting where it is; the person's calendar gets METHOD:DECLINECOUNTER."""
    comment = request.POST.get("comment", "")[:1000]
    return _decide_counter(
        request, pk, counter_id,
        lambda c: replies.counter_decline(counter=c, user=request.user, comment=comment),
        _("The proposal for %(title)s is declined; the person is told the meeting stays."))


# --- a host's own meetings -------------------------------------------------------------------


@login_required
def my_meetings(request: HttpRequest) -> HttpResponse:
    person = _person(request.user)
    if person is None:
        return render(request, "web/staff/no_person.html", status=404)
    since = timezone.now() - timedelta(days=1)
    meetings = list(
        meetings_for_person(person=person)
        .filter(ends_at__gte=since)
        .select_related("programme_slot__visit__delegation")
        .order_by("starts_at")
    )
    return render(
        request,
        "web/staff/my_meetings.html",
        {
            "person": person,
            "days": itinerary(meetings, person.timezone, reader_id=person.pk),
            "feed": feed_links(person_feed_url(person)),
            "rsvp_choices": RSVP_CHOICES,
            "admin_person": admin_url(Person, person.pk) if can_use_admin(request.user) else None,
            "link_visits": True,
        },
    )


@login_required
@require_POST
def rsvp(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request.user)
    participation = get_object_or_404(Participation.objects.select_related("meeting"), pk=pk, person=person)
    form = RsvpForm(request.POST)
    if form.is_valid():
        try:
            booking.meeting_answer(participation=participation, answer=form.cleaned_data["answer"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("You answered “%(answer)s” for “%(meeting)s”.")
                % {"answer": dict(RSVP_CHOICES)[form.cleaned_data["answer"]],
                   "meeting": participation.meeting.title},
            )
    else:
        messages.error(request, _("Choose accept, maybe or decline."))
    return redirect(f"{reverse('web:my-meetings')}#meeting-{participation.meeting_id}")


@login_required
@require_POST
def rotate_feed(request: HttpRequest) -> HttpResponse:
    person = _person(request.user)
    if person is None:
        raise Http404
    person_rotate_feed_token(person=person)
    messages.success(request, _("Your calendar link is new. Calendars subscribed to the old link stop updating."))
    return redirect("web:my-meetings")
