"""Data for the page tests, built through the services so pages see what production would store."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone, translation

from directory.models import Person
from events.models import Participation
from events.services import AgendaSpec, ParticipantSpec
from tests.factories import PersonFactory, RoomFactory, TopicFactory, UserFactory, VenueFactory
from visits import booking
from visits import services as visit_services
from visits.services import MemberSpec, VisitRequestInput

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

try:  # Playwright is a dev dependency; the page tests without a browser do not need it
    from playwright.sync_api import expect

    # A save in the browser tests is a real request to a live server; on a loaded 2-core CI box one
    # sometimes takes longer than Playwright's default 5 s. Every assertion stays the same; only the
    # wait for it to come true is longer.
    expect.set_options(timeout=15_000)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def page_test_settings(settings):
    """Page tests post many forms from 127.0.0.1 (the throttle tests set their own low rates),
    and a fast hasher keeps the users they create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rates = dict(settings.VISITDESK_THROTTLE_RATES, visit_request="10000/hour", status="10000/hour",
                 public="10000/minute", login="10000/minute")
    settings.VISITDESK_THROTTLE_RATES = rates


@pytest.fixture(autouse=True)
def english():
    """A German page request leaves its language active in the thread; texts asserted here are English."""
    with translation.override("en"):
        yield


def next_weekday(start: date, days_ahead: int = 14) -> date:
    day = start + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN)


def request_visit(*, email: str = "kirsten@lifescience-nord.example", size: int = 3, topics=()):
    start = timezone.localdate() + timedelta(days=20)
    return visit_services.visit_request_submit(
        data=VisitRequestInput(
            organisation_name="Life Science Nord",
            organisation_country="DE",
            contact_name="Kirsten Hansen",
            contact_email=email,
            delegation_name="Life Science Nord delegation",
            delegation_size=size,
            members=[MemberSpec(name="Jens Berg", email="jens@lifescience-nord.example", job_title="Cluster manager")],
            preferred_windows=[(start, start + timedelta(days=5))],
            topics=list(topics),
            purpose="Cross-border R&D cooperation on stem cells.",
        )
    )


def host_user(username: str, name: str, *, is_staff: bool = False, password: str = "host-pass-1234") -> Person:
    """A user linked to a person: the host role of the product."""
    user = UserFactory(username=username, is_staff=is_staff, password=password)
    return PersonFactory(name=name, email=f"{username}@stemcell-centre.example", user=user)


@pytest.fixture
def topics(db):
    return [
        TopicFactory(name="Stem cell R&D", slug="stem-cell-rd"),
        TopicFactory(name="EU funding: Horizon 2020", slug="horizon-2020"),
    ]


@pytest.fixture
def confirmed_visit(db, topics):
    """A confirmed visit with a one-day programme in two rooms, hosted by ``anna`` (a host user)."""
    anna = host_user("anna", "Dr. Anna Schmidt")
    ben = host_user("ben", "Prof. Ben Keller")
    visit = request_visit(topics=topics)
    day = next_weekday(timezone.localdate())
    visit = visit_services.visit_confirm(visit=visit, starts_on=day, ends_on=day)
    venue = VenueFactory(name="Stem Cell Campus")
    lab, board = RoomFactory(venue=venue, name="Lab 1"), RoomFactory(venue=venue, name="Board room")
    booking.meeting_create(
        visit=visit, title="Welcome and introductions", starts_at=local(day, 9), ends_at=local(day, 10), room=board,
        participants=[ParticipantSpec(person=anna, role=Participation.Role.CHAIR)],
        agenda_items=[AgendaSpec(title="The centre in ten minutes", topic=topics[0], minutes=10)],
    )
    booking.meeting_create(
        visit=visit, title="Lab tour: organoids", starts_at=local(day, 10, 15), ends_at=local(day, 11, 30), room=lab,
        kind="tour", participants=[ParticipantSpec(person=ben, role=Participation.Role.HOST)],
    )
    booking.meeting_create(
        visit=visit, title="Horizon 2020 consortium ideas", starts_at=local(day, 11, 30), ends_at=local(day, 12, 30),
        room=board, participants=[ParticipantSpec(person=anna, role=Participation.Role.HOST),
                                  ParticipantSpec(person=ben, role=Participation.Role.PRESENTER)],
        agenda_items=[AgendaSpec(title="Joint call 2027", topic=topics[1], presenter=ben, minutes=30)],
    )
    visit.anna, visit.ben, visit.day = anna, ben, day
    return visit
