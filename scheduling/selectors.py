"""Reads of proposals, with their items, rooms and booked meetings joined."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import dateformat
from django.utils.translation import gettext

from visits.models import ProgrammeKind, Visit

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


def _role_label(role: str) -> str:
    return {"welcome": gettext("Welcome"), "lunch": gettext("Lunch"), "wrap-up": gettext("Wrap-up")}.get(role, role)


def proposal_covered(*, proposal: Proposal) -> list[dict[str, Any]]:
    """What the visit's programme already had when the proposal was made, so it was not proposed again.

    One entry per covered topic and per welcome / lunch / wrap-up: ``covers``, ``topic``, ``name``
    (the topic, or the part the meeting plays, in the active language), ``meeting``, ``title``,
    ``starts_at`` (aware, in the proposal's zone) and ``text`` ("already in the programme:
    Horizon 2020 consortium ideas, Mon 11:30") in the active language.
    """
    zone = zoneinfo.ZoneInfo(proposal.settings.timezone)
    out = []
    for entry in proposal.settings.covered:
        starts_at = entry.starts_at.astimezone(zone)
        out.append({
            "covers": entry.covers, "topic": entry.topic,
            "name": entry.name if entry.covers == ProgrammeKind.TOPIC else _role_label(entry.covers),
            "meeting": entry.meeting, "title": entry.title, "starts_at": starts_at,
            "text": gettext("already in the programme: %(title)s, %(day)s %(time)s") % {
                "title": entry.title, "day": dateformat.format(starts_at, "D"), "time": f"{starts_at:%H:%M}"},
        })
    return out
