"""The coordinator's programme proposal page: propose, read the reasons, pin, remove, re-solve, accept.

Coordinators only (anyone else gets 404, as on the other staff pages). Every button is a plain POST
form that redirects back here, so the page works without JavaScript and under a strict CSP.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.roles import is_coordinator
from scheduling import services as scheduling_services
from scheduling.check import proposal_check
from scheduling.models import Proposal, ProposalItem
from scheduling.selectors import proposal_covered, proposal_detail, proposal_latest
from visits.models import Visit
from visits.selectors import visit_list

from ..proposal import proposal_view
from .staff import _person


def _visit_or_404(request: HttpRequest, pk: int) -> Visit:
    if not is_coordinator(request.user):
        raise Http404
    return get_object_or_404(visit_list(), pk=pk)


def _proposal_of(visit: Visit, proposal_id: int | None) -> Proposal | None:
    if proposal_id is None:
        latest = proposal_latest(visit=visit)
        return proposal_detail(proposal_id=latest.pk) if latest else None
    proposal = Proposal.objects.filter(pk=proposal_id, visit=visit).first()
    if proposal is None:
        raise Http404
    return proposal_detail(proposal_id=proposal.pk)


@login_required
def proposal_page(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    raw = request.GET.get("proposal", "")
    proposal = _proposal_of(visit, int(raw) if raw.isdigit() and len(raw) < 18 else None)
    context: dict[str, object] = {"visit": visit, "proposal": proposal, "days": [], "unplaced": [], "removed": [],
                                  "covered": [], "repair_preview": None, "repair_result": None}
    if proposal is not None:
        shown = proposal_view(proposal)
        context["days"] = shown.days
        context["unplaced"] = shown.unplaced
        context["removed"] = shown.removed
        context["can_accept"] = shown.can_accept
        context["objective"] = proposal.objective
        context["covered"] = proposal_covered(proposal=proposal)
        context["check"] = proposal_check(proposal, language=get_language())
        plan = proposal.repair
        if plan is not None and plan.applied_at is None and proposal.status != Proposal.Status.DISCARDED:
            context["repair_preview"] = plan
        elif plan is not None and plan.applied_at is not None and request.GET.get("repaired") == plan.token:
            context["repair_result"] = plan
    return render(request, "web/staff/proposal.html", context)


def _back(visit: Visit, proposal: Proposal | None = None, *, anchor: str = "",
          repaired: str = "") -> HttpResponseRedirect:
    response = redirect("web:staff-visit-proposal", pk=visit.pk)
    if proposal is not None:
        response["Location"] += f"?proposal={proposal.pk}"
        if repaired:
            response["Location"] += f"&repaired={repaired}"
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def _run(request: HttpRequest, visit: Visit, proposal: Proposal, action: Callable[[], object],
         success: str) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return _back(visit, proposal)


@login_required
@require_POST
def proposal_create(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    try:
        proposal = scheduling_services.proposal_create(visit=visit, by=_person(request.user), time_limit_seconds=5)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(visit)
    messages.success(request, _("A new programme is proposed. Check the reasons, pin what you like, then accept."))
    return _back(visit, proposal)


def _owned(visit: Visit, proposal_id: int) -> Proposal:
    return get_object_or_404(Proposal, pk=proposal_id, visit=visit)


@login_required
@require_POST
def proposal_accept(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    return _run(request, visit, proposal, lambda: scheduling_services.proposal_accept(proposal=proposal),
                _("The programme is booked. Invitations go out as usual."))


@login_required
@require_POST
def proposal_resolve(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    return _run(request, visit, proposal,
                lambda: scheduling_services.proposal_resolve(proposal=proposal, time_limit_seconds=5),
                _("Solved again: pinned and booked items stayed where they were."))


@login_required
@require_POST
def proposal_repair(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    """Work out a repair and show it (moves, new hosts, who gets which mail); nothing changes yet."""
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    try:
        plan = scheduling_services.proposal_repair(proposal=proposal, time_limit_seconds=5)[1]
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(visit, proposal)
    if not plan.repairs and not any(c.outcome == "not_repaired" for c in plan.changes):
        messages.info(request, _("Nothing needs repair: every booked host is still available."))
    return _back(visit, proposal, anchor="repair")


@login_required
@require_POST
def proposal_repair_confirm(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    """Apply the repair the coordinator saw (its token); a stale one is refused and nothing changes."""
    visit = _visit_or_404(request, pk)
    proposal = _owned(visit, proposal_id)
    token = request.POST.get("plan", "")[:64]
    if not token:  # the page applies only a plan it showed
        messages.error(request, _("Preview the repair first."))
        return _back(visit, proposal)
    try:
        plan = scheduling_services.proposal_repair(proposal=proposal, confirm=True, plan=token)[1]
    except DomainError as exc:
        messages.error(request, exc.message)
        return _back(visit, proposal, anchor="repair")
    messages.success(request, _("The repair is done: the changes below are booked, and participants get the mails "
                                "listed."))
    return _back(visit, proposal, anchor="repair", repaired=plan.token)


@login_required
@require_POST
def proposal_item(request: HttpRequest, pk: int, proposal_id: int, item_id: int) -> HttpResponse:
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
