"""Reads of proposals, with their items, rooms and booked meetings joined."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from visits.models import Visit

from .models import Proposal, ProposalItem


def _items() -> Prefetch[Any]:
    return Prefetch("items", queryset=ProposalItem.objects.select_related("room", "meeting", "topic")
                    .order_by("starts_at", "position", "id"))


def proposal_detail(*, proposal_id: int) -> Proposal:
    return Proposal.objects.select_related("visit").prefetch_related(_items()).get(pk=proposal_id)


def proposals_for_visit(*, visit: Visit) -> QuerySet[Proposal]:
    return Proposal.objects.filter(visit=visit).prefetch_related(_items()).order_by("-created_at", "-id")


def proposal_latest(*, visit: Visit) -> Proposal | None:
    """The newest proposal that is not discarded, or None."""
    found = proposals_for_visit(visit=visit).exclude(status=Proposal.Status.DISCARDED).first()
    return found
