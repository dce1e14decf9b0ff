"""Reads for visits and their programmes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from directory.models import Person
from events.models import Meeting
from events.selectors import feed_window_q, meeting_list

from .models import Delegation, Visit

# --- which meetings participants may hear about ------------------------------------------------

#: A programme meeting is announced (invites, reminders, updates) only once its visit is confirmed.
VISIBLE_VISIT_STATES = (Visit.Status.CONFIRMED, Visit.Status.COMPLETED)


def meeting_visible_q(prefix: str = "") -> Q:
    """The one rule: scheduled, and standalone or in a confirmed (or completed) visit.

    ``prefix`` lets other models filter on it (``"meeting__"`` for participations). The outbox
    decides what is owed with it (``notifications.reconcile``) and re-checks rows before sending
    with ``visible_meeting_ids`` (``notifications.compose``): one definition, no Python twin.
    """
    slot = f"{prefix}programme_slot"
    return Q(**{f"{prefix}status": Meeting.Status.SCHEDULED}) & (
        Q(**{f"{slot}__isnull": True}) | Q(**{f"{slot}__visit__status__in": VISIBLE_VISIT_STATES})
    )


def visible_meeting_ids(*, meeting_ids: Iterable[int], now: datetime) -> set[int]:
    """Of ``meeting_ids``, those participants may hear about now (visible and not yet over)."""
    return set(
        Meeting.objects.filter(meeting_visible_q(), pk__in=meeting_ids, ends_at__gt=now)
        .order_by().values_list("pk", flat=True)
    )


def visit_list() -> QuerySet[Visit]:
    return Visit.objects.select_related(
        "delegation__organisation", "delegation__lead", "contact", "coordinator", "host_organisation", "venue"
    ).prefetch_related("topics", "preferred_windows", "delegation__members")


def visit_by_status_token(token: str) -> Visit | None:
    return visit_list().filter(status_token=token).first() if token else None


def programme_meetings(*, visit: Visit) -> QuerySet[Meeting]:
    return meeting_list().filter(programme_slot__visit=visit).filter(feed_window_q())


def visits_visible_to_person(*, person: Person) -> QuerySet[Visit]:
    """A host sees the visits whose programme they take part in."""
    return visit_list().filter(programme__meeting__participations__person=person).distinct()


def delegation_people_ids(visit: Visit) -> set[int]:
    """The delegation's members and lead: the people a programme meeting occupies exclusively."""
    lead = {visit.delegation.lead_id} if visit.delegation.lead_id is not None else set()
    return set(visit.delegation.members.values_list("pk", flat=True)) | lead


def programme_recipient_ids(visit: Visit) -> set[int]:
    """Who receives a visit's programme mail: the delegation (members and lead) and the requester."""
    return delegation_people_ids(visit) | {visit.contact_id}


def programme_mail_q(prefix: str = "") -> Q:
    """Participations (``prefix`` to reach them, e.g. ``""`` on Participation) whose person hears about
    the meeting through their visit's programme mail instead of a per-meeting invitation: the
    delegation's members and lead and the requester, in a visit whose ``delegation_mail`` is the
    programme. Hosts and other staff are never covered: they keep their invitations."""
    visit = f"{prefix}meeting__programme_slot__visit__"
    member = Delegation.members.through.objects.filter(
        delegation_id=OuterRef(f"{visit}delegation_id"), person_id=OuterRef(f"{prefix}person_id"))
    return Q(**{f"{visit}delegation_mail": Visit.DelegationMail.PROGRAMME}) & (
        Exists(member)
        | Q(**{f"{prefix}person_id": F(f"{visit}contact_id")})
        | Q(**{f"{prefix}person_id": F(f"{visit}delegation__lead_id")})
    )
