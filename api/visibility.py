"""What a host may see: their meetings and what those meetings reference.

Each function returns a queryset of primary keys usable as a subquery (``pk__in=``), so scoping a
list adds no queries per row and no ``DISTINCT`` over joined rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from directory.models import Organisation, Person
from events.models import AgendaItem, Participation, Room, Venue
from events.selectors import meetings_visible_to_person
from visits.models import Delegation, Visit
from visits.selectors import visits_visible_to_person


def meeting_ids(person: Person) -> QuerySet[Any]:
    return meetings_visible_to_person(person=person).order_by().values("pk")


def visit_ids(person: Person) -> QuerySet[Any]:
    return visits_visible_to_person(person=person).order_by().values("pk")


def room_ids(person: Person) -> QuerySet[Any]:
    return Room.objects.filter(meetings__in=meeting_ids(person)).order_by().values("pk")


def venue_ids(person: Person) -> QuerySet[Any]:
    return Venue.objects.filter(Q(rooms__in=room_ids(person)) | Q(visits__in=visit_ids(person))).order_by().values("pk")


def delegation_ids(person: Person) -> QuerySet[Any]:
    return Delegation.objects.filter(visits__in=visit_ids(person)).order_by().values("pk")


def person_ids(person: Person) -> QuerySet[Any]:
    meetings = meeting_ids(person)
    visits = visit_ids(person)
    return (
        Person.objects.filter(
            Q(pk=person.pk)
            | Q(pk__in=Participation.objects.filter(meeting__in=meetings).values("person_id"))
            | Q(pk__in=AgendaItem.objects.filter(meeting__in=meetings).values("presenter_id"))
            | Q(pk__in=Visit.objects.filter(pk__in=visits).values("contact_id"))
            | Q(pk__in=Visit.objects.filter(pk__in=visits).values("coordinator_id"))
            | Q(delegations__in=delegation_ids(person))
        )
        .order_by()
        .values("pk")
    )


def organisation_ids(person: Person) -> QuerySet[Any]:
    visits = visit_ids(person)
    return (
        Organisation.objects.filter(
            Q(pk__in=Person.objects.filter(pk__in=person_ids(person)).values("organisation_id"))
            | Q(pk__in=Delegation.objects.filter(pk__in=delegation_ids(person)).values("organisation_id"))
            | Q(pk__in=Visit.objects.filter(pk__in=visits).values("host_organisation_id"))
            | Q(pk__in=Venue.objects.filter(pk__in=venue_ids(person)).values("organisation_id"))
        )
        .order_by()
        .values("pk")
    )


__all__ = [
    "delegation_ids",
    "meeting_ids",
    "organisation_ids",
    "person_ids",
    "room_ids",
    "venue_ids",
    "visit_ids",
]
