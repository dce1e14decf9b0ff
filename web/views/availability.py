"""``/staff/availability/``: a host keeps their own working hours, absences and calendars up to date.

Only ever the signed-in person's own data (a coordinator edits others in the admin). Every write
goes through ``availability.services``; the page shows the sync state of each imported calendar so
a broken address is noticed by the one person who can fix it.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from datetime import date, time
from functools import wraps
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from availability import services
from availability.models import Absence, ExternalCalendar, HoursException, WeeklyHours
from calendars.links import feed_links
from core.errors import DomainError
from core.links import absolute
from directory.models import Person

from ..availability_forms import AbsenceForm, CalendarForm, ExceptionForm, WeeklyHoursForm, format_intervals
from ..throttle import per_user, throttled

_P = ParamSpec("_P")


def _me(request: HttpRequest) -> Person | None:
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    return person if isinstance(person, Person) else None


def own_person(
    view: Callable[Concatenate[HttpRequest, Person, _P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, _P], HttpResponse]:
    """Hands the view the signed-in person; an account no person is linked to gets the page saying so (404).

    Every page here is about "my" hours, absences and calendars, so without a person there is nothing to show.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponse:
        person = _me(request)
        if person is None:
            return render(request, "web/staff/no_person.html", status=404)
        return view(request, person, *args, **kwargs)

    return wrapped


def _weekly_initial(person: Person) -> dict[str, str]:
    days: defaultdict[int, list[tuple[time, time]]] = defaultdict(list)
    for row in WeeklyHours.objects.filter(person=person).order_by("start"):
        days[row.weekday].append((row.start, row.end))
    return {f"day{d}": format_intervals(days[d]) for d in range(7)}


def _exception_specs(person: Person) -> list[services.ExceptionSpec]:
    return [services.ExceptionSpec(date=e.date, start=e.start, end=e.end)
            for e in HoursException.objects.filter(person=person)]


def _page(request: HttpRequest, person: Person, **forms: Form) -> HttpResponse:
    zone = zoneinfo.ZoneInfo(person.timezone)
    exceptions: defaultdict[date, list[HoursException]] = defaultdict(list)
    for e in HoursException.objects.filter(person=person, date__gte=timezone.localdate()).order_by("date", "start"):
        exceptions[e.date].append(e)
    freebusy = absolute(reverse("calendars:person-freebusy", kwargs={"token": person.feed_token}))
    context: dict[str, object] = {
        "person": person,
        "weekly_form": forms.get("weekly_form") or WeeklyHoursForm(initial=_weekly_initial(person)),
        "exception_form": forms.get("exception_form") or ExceptionForm(),
        "absence_form": forms.get("absence_form") or AbsenceForm(zone=person.timezone),
        "calendar_form": forms.get("calendar_form") or CalendarForm(),
        "exceptions": [
            {"date": day,
             "hours": format_intervals((r.start, r.end) for r in rows if r.start is not None and r.end is not None)}
            for day, rows in sorted(exceptions.items())
        ],
        "absences": [
            {"pk": a.pk, "starts_at": a.starts_at.astimezone(zone), "ends_at": a.ends_at.astimezone(zone),
             "reason": a.reason}
            for a in Absence.objects.filter(person=person, ends_at__gte=timezone.now()).order_by("starts_at")
        ],
        "calendars": ExternalCalendar.objects.filter(person=person).order_by("pk"),
        "calendar_cap": settings.VISITDESK_BUSY_CALENDARS_PER_PERSON,
        "freebusy": feed_links(freebusy),
    }
    return render(request, "web/staff/my_availability.html", context, status=400 if forms else 200)


@login_required
@own_person
def my_availability(request: HttpRequest, person: Person) -> HttpResponse:
    return _page(request, person)


@login_required
@require_POST
@own_person
def save_hours(request: HttpRequest, person: Person) -> HttpResponse:
    form = WeeklyHoursForm(request.POST)
    if not form.is_valid():
        return _page(request, person, weekly_form=form)
    weekly = [services.WeeklySpec(weekday=d, start=a, end=b) for d, a, b in form.cleaned_data["weekly"]]
    services.working_hours_set(person=person, weekly=weekly, exceptions=_exception_specs(person))
    messages.success(request, _("Working hours saved."))
    return redirect("web:my-availability")


@login_required
@require_POST
@own_person
def add_exception(request: HttpRequest, person: Person) -> HttpResponse:
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        return _page(request, person, exception_form=form)
    day = form.cleaned_data["date"]
    kept = [s for s in _exception_specs(person) if s.date != day]
    new = [services.ExceptionSpec(date=day, start=a, end=b) for a, b in form.cleaned_data["hours"]]
    weekly = [services.WeeklySpec(weekday=w.weekday, start=w.start, end=w.end)
              for w in WeeklyHours.objects.filter(person=person)]
    services.working_hours_set(person=person, weekly=weekly, exceptions=kept + (new or [services.ExceptionSpec(day)]))
    messages.success(request, _("Exception for %(date)s saved.") % {"date": day.isoformat()})
    return redirect("web:my-availability")


@login_required
@require_POST
@own_person
def remove_exception(request: HttpRequest, person: Person, day: str) -> HttpResponse:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise Http404("No such day.") from None
    services.hours_exception_remove(person=person, day=parsed)
    messages.success(request, _("Exception removed."))
    return redirect("web:my-availability")


@login_required
@require_POST
@own_person
def add_absence(request: HttpRequest, person: Person) -> HttpResponse:
    with timezone.override(zoneinfo.ZoneInfo(person.timezone)):
        form = AbsenceForm(request.POST, zone=person.timezone)
        valid = form.is_valid()
    if not valid:
        return _page(request, person, absence_form=form)
    services.absence_create(person=person, **form.cleaned_data)
    messages.success(request, _("Absence added."))
    return redirect("web:my-availability")


@login_required
@require_POST
@own_person
def remove_absence(request: HttpRequest, person: Person, pk: int) -> HttpResponse:
    absence = get_object_or_404(Absence, pk=pk, person=person)
    services.absence_remove(absence=absence)
    messages.success(request, _("Absence removed."))
    return redirect("web:my-availability")


def _is_sync(request: HttpRequest) -> bool:
    return request.resolver_match is not None and request.resolver_match.kwargs.get("action") == "sync"


@login_required
@require_POST
@throttled("calendar_sync", methods=("POST",), key=per_user)
@own_person
def add_calendar(request: HttpRequest, person: Person) -> HttpResponse:
    """Adds the calendar and queues its first sync: the worker fetches it, never this request."""
    form = CalendarForm(request.POST)
    if form.is_valid():
        try:
            services.external_calendar_add(person=person, url=form.cleaned_data["url"])
        except DomainError as error:
            form.add_error("url", error.message)
        else:
            messages.success(request, _("Calendar added; its busy times are being imported (queued). "
                                        "Reload this page in a minute to see the result."))
            return redirect("web:my-availability")
    return _page(request, person, calendar_form=form)


@login_required
@require_POST
@throttled("calendar_sync", methods=("POST",), when=_is_sync, key=per_user)
@own_person
def calendar_action(request: HttpRequest, person: Person, pk: int, action: str) -> HttpResponse:
    calendar = get_object_or_404(ExternalCalendar, pk=pk, person=person)
    if action == "remove":
        services.external_calendar_remove(calendar=calendar)
        messages.success(request, _("Calendar removed; its busy times are gone."))
    elif services.external_calendar_sync_request(calendar=calendar):
        messages.success(request, _("Sync queued. Reload this page in a minute to see the result."))
    else:
        messages.info(request, _("A sync of this calendar is already queued or running."))
    return redirect("web:my-availability")
