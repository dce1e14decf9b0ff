"""The coordinator's programme proposal page: propose, read the reasons, pin, remove, re-solve, accept.

Coordinators only (anyone else gets 404, as on the other staff pages). Every button is a plain POST
form that redirects back here, so the page works without JavaScript and under a strict CSP.
"""

from __future__ import annotations

import math
import zoneinfo
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from directory.models import Person
from scheduling import services as scheduling_services
from scheduling.check import proposal_check
from scheduling.models import Proposal, ProposalItem
from scheduling.selectors import proposal_covered, proposal_detail, proposal_latest
from visits.selectors import visit_list

from .staff import _person, is_coordinator

#: Blocks are drawn one CSS class per quarter hour of length (``dur-1`` … ``dur-32``, see proposal.css).
MAX_QUARTERS = 32


def _visit_or_404(request, pk: int):
    if not is_coordinator(request.user):
        raise Http404
    return get_object_or_404(visit_list(), pk=pk)


def _proposal_of(visit, proposal_id: int | None) -> Proposal | None:
    if proposal_id is None:
        latest = proposal_latest(visit=visit)
        return proposal_detail(proposal_id=latest.pk) if latest else None
    proposal = Proposal.objects.filter(pk=proposal_id, visit=visit).first()
    if proposal is None:
        raise Http404
    return proposal_detail(proposal_id=proposal.pk)


@login_required
def proposal_page(request, pk: int):
    visit = _visit_or_404(request, pk)
    raw = request.GET.get("proposal", "")
    proposal = _proposal_of(visit, int(raw) if raw.isdigit() and len(raw) < 18 else None)
    context = {"visit": visit, "proposal": proposal, "days": [], "unplaced": [], "removed": [], "covered": []}
    if proposal is not None:
        items = list(proposal.items.all())
        zone = zoneinfo.ZoneInfo(proposal.settings.timezone)
        names = dict(Person.objects.filter(pk__in={p.person for i in items for p in i.participants})
                     .values_list("pk", "name"))
        for item in items:
            item.hosts = [names.get(p.person, "") for p in item.participants if p.role in ("host", "chair")]
            item.guests = len([p for p in item.participants if p.role == "guest"])
            if item.placed:
                item.local_start, item.local_end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
                quarters = math.ceil((item.ends_at - item.starts_at).total_seconds() / 900)
                item.size_class = f"dur-{max(1, min(MAX_QUARTERS, quarters))}"
        placed = sorted((i for i in items if i.placed and not i.removed), key=lambda i: (i.starts_at, i.position))
        context["days"] = [(day, list(group)) for day, group in groupby(placed, key=lambda i: i.local_start.date())]
        context["unplaced"] = [i for i in items if not i.placed and not i.removed]
        context["removed"] = [i for i in items if i.removed]
        context["can_accept"] = proposal.status != Proposal.Status.DISCARDED and any(
            not i.meeting_id for _, group in context["days"] for i in group)
        context["objective"] = proposal.objective
        context["covered"] = proposal_covered(proposal=proposal)
        context["check"] = proposal_check(proposal, language=get_language())
    return render(request, "web/staff/proposal.html", context)


def _back(visit, proposal=None):
    response = redirect("web:staff-visit-proposal", pk=visit.pk)
    if proposal is not None:
        response["Location"] += f"?proposal={proposal.pk}"
    return response


def _run(request, visit, proposal, action, success: str):
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return _back(visit, proposal)


@login_required
@require_POST
def proposal_create(request, pk: int):
    visit = _visit_or_404(request, pk)
    try:
        proposal = scheduling_services.proposal_create(visit=visit, by=_person(request.user), time_limit_seconds=5)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(visit)
    messages.success(request, _("A new programme is proposed. Check the reasons, pin what you like, then accept."))
    return _back(visit, proposal)


def _owned(visit, proposal_id: int) -> Proposal:
    return get_object_or_404(Proposal, pk=proposal_id, visit=visit)


@login_required
@require_POST
def proposal_accept(request, pk: int, proposal_id: int):
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    return _run(request, visit, proposal, lambda: scheduling_services.proposal_accept(proposal=proposal),
                _("The programme is booked. Invitations go out as usual."))


@login_required
@require_POST
def proposal_resolve(request, pk: int, proposal_id: int):
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    return _run(request, visit, proposal,
                lambda: scheduling_services.proposal_resolve(proposal=proposal, time_limit_seconds=5),
                _("Solved again: pinned and booked items stayed where they were."))


@login_required
@require_POST
def proposal_repair(request, pk: int, proposal_id: int):
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    found: dict = {}

    def repair():
        found.update(scheduling_services.proposal_repair(proposal=proposal, time_limit_seconds=5)[1])

    response = _run(request, visit, proposal, repair, _("Repair finished."))
    if not found:
        messages.info(request, _("Nothing needed repair: every booked host is still available."))
    return response


@login_required
@require_POST
def proposal_item(request, pk: int, proposal_id: int, item_id: int):
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    item = get_object_or_404(ProposalItem, pk=item_id, proposal=proposal)
    action = request.POST.get("action", "")
    changes = {"pin": {"pinned": True}, "unpin": {"pinned": False}, "remove": {"removed": True},
               "restore": {"removed": False}}.get(action)
    if changes is None:
        messages.error(request, _("Unknown action."))
        return _back(visit, proposal)
    return _run(request, visit, proposal,
                lambda: scheduling_services.proposal_item_update(item=item, **changes),
                _("“%(title)s” updated. Re-solve to see the effect.") % {"title": item.title})
