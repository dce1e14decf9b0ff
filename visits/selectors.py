"""Reads for visits and their programmes."""

from __future__ import annotations

from django.db.models import QuerySet

from directory.models import Person
from events.models import Meeting
from events.selectors import feed_window_q, meeting_list

from .models import Visit


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
