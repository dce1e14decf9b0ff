"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from directory.models import Organisation, Person, Topic
from events.models import Event, Meeting, Participation, Room, Venue
from visits.models import Delegation, Visit


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-not-used-0815")
    is_staff = True


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.RESEARCH_CENTRE
    country = "DE"
    city = "Hamburg"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Person {n}")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    organisation = factory.SubFactory(OrganisationFactory)


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    name = factory.Sequence(lambda n: f"Campus {n}")
    street = "Martinistraße 52"
    postcode = "20246"
    city = "Hamburg"
    country = "DE"
    timezone = "Europe/Berlin"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    venue = factory.SubFactory(VenueFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    capacity = 12


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    title = factory.Sequence(lambda n: f"Info day {n}")
    slug = factory.Sequence(lambda n: f"info-day-{n}")
    is_public = True


class MeetingFactory(factory.django.DjangoModelFactory):
    """A scheduled meeting; bypasses services, so use it for reads, not for workflow tests."""

    class Meta:
        model = Meeting

    title = factory.Sequence(lambda n: f"Meeting {n}")
    starts_at = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0))
    ends_at = factory.LazyAttribute(lambda m: m.starts_at + timedelta(hours=1))
    timezone = "Europe/Berlin"
    room = factory.SubFactory(RoomFactory)


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    meeting = factory.SubFactory(MeetingFactory)
    person = factory.SubFactory(PersonFactory)
    role = Participation.Role.GUEST
    starts_at = factory.SelfAttribute("meeting.starts_at")
    ends_at = factory.SelfAttribute("meeting.ends_at")
    blocks_time = factory.LazyAttribute(
        lambda p: p.role in Participation.BLOCKING_ROLES and p.meeting.status == Meeting.Status.SCHEDULED
    )


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delegation

    name = factory.Sequence(lambda n: f"Delegation {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    lead = factory.SubFactory(PersonFactory, organisation=factory.SelfAttribute("..organisation"))
    size = 3


class VisitFactory(factory.django.DjangoModelFactory):
    """A requested visit; use ``visits.services`` to move it through the workflow."""

    class Meta:
        model = Visit

    reference = factory.Sequence(lambda n: f"VIS-2099-{n:04d}")
    delegation = factory.SubFactory(DelegationFactory)
    contact = factory.SelfAttribute("delegation.lead")
    timezone = "Europe/Berlin"
