"""A host centre with rooms, experts and a confirmed two-day visit asking for three topics.

    Seminar room (20 seats), Board room (8), Lab office (3) in one venue (Europe/Berlin)
    Dr. Ada Lind      cell therapeutics, stem cell R&D
    Dr. Ben Ott       stem cell R&D
    Dr. Cem Aydin     EU funding: Horizon 2020
    Dr. Dana Wolf     cell therapeutics
    visit             4-person delegation, Tue+Wed three weeks ahead, the three topics
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as djtz
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from directory.models import Person
from tests.factories import OrganisationFactory, RoomFactory, TopicFactory, UserFactory, VenueFactory
from visits import services as visit_services
from visits.models import Visit

BERLIN = ZoneInfo("Europe/Berlin")


def next_tuesday(weeks: int = 3) -> date:
    today = djtz.localdate()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7 * weeks)


@dataclass
class Centre:
    coordinator: object
    coordinator_person: Person
    host_user: object
    ada: Person
    ben: Person
    cem: Person
    dana: Person
    seminar: object
    board: object
    office: object
    visit: Visit
    tuesday: date

    def at(self, day: int, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(self.tuesday + timedelta(days=day), datetime.min.time(), tzinfo=BERLIN).replace(
            hour=hh, minute=mm)

    def client(self, who: str = "coordinator") -> APIClient:
        client = APIClient()
        user = {"coordinator": self.coordinator, "host": self.host_user}[who]
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client


@pytest.fixture
def centre(db, settings) -> Centre:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = OrganisationFactory(name="Stem Cell Research Center")
    venue = VenueFactory(name="Main campus", organisation=org)
    seminar = RoomFactory(venue=venue, name="Seminar room", capacity=20)
    board = RoomFactory(venue=venue, name="Board room", capacity=8)
    office = RoomFactory(venue=venue, name="Lab office", capacity=3)
    cell = TopicFactory(name="Cell therapeutics", slug="cell-therapeutics", meeting_minutes=60)
    stem = TopicFactory(name="Stem cell R&D", slug="stem-cell-rd", meeting_minutes=90)
    h2020 = TopicFactory(name="EU funding: Horizon 2020", slug="horizon-2020", meeting_minutes=60)
    coordinator = UserFactory(username="coord", is_staff=True)
    host_user = UserFactory(username="ada", is_staff=False)
    coordinator_person = Person.objects.create(name="Carla Coordinator", email="carla@centre.example.org",
                                               user=coordinator, organisation=org)

    def expert(name, email, *topics, user=None):
        person = Person.objects.create(name=name, email=email, organisation=org, user=user)
        person.expertise.set(topics)
        return person

    ada = expert("Dr. Ada Lind", "ada@centre.example.org", cell, stem, user=host_user)
    ben = expert("Dr. Ben Ott", "ben@centre.example.org", stem)
    cem = expert("Dr. Cem Aydin", "cem@centre.example.org", h2020)
    dana = expert("Dr. Dana Wolf", "dana@centre.example.org", cell)
    tuesday = next_tuesday()
    visit = visit_services.visit_request_submit(data=visit_services.VisitRequestInput(
        organisation_name="Life Science Nord", organisation_country="DE", contact_name="Dr. Hinrich Habeck",
        contact_email="habeck@lsn.example.org", delegation_name="LSN delegation", delegation_size=4,
        preferred_windows=[(tuesday, tuesday + timedelta(days=1))],
        members=(visit_services.MemberSpec(name="Anna Berg", email="berg@lsn.example.org"),
                 visit_services.MemberSpec(name="Jens Holm", email="holm@lsn.example.org")),
        topics=(cell, stem, h2020),
    ))
    Visit.objects.filter(pk=visit.pk).update(venue=venue)
    visit = visit_services.visit_confirm(visit=visit, by=coordinator_person)
    return Centre(coordinator=coordinator, coordinator_person=coordinator_person, host_user=host_user, ada=ada,
                  ben=ben, cem=cem, dana=dana, seminar=seminar, board=board, office=office,
                  visit=Visit.objects.get(pk=visit.pk), tuesday=tuesday)


@pytest.fixture
def booked(centre):
    """The centre's visit with a proposal drafted and accepted on the staff pages: (coordinator's client,
    the proposal)."""
    from django.test import Client

    from scheduling.models import Proposal

    client = Client()
    client.force_login(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    client.post(f"{url}new/")
    proposal = Proposal.objects.get(visit=centre.visit)
    client.post(f"{url}{proposal.pk}/accept/")
    return client, proposal
