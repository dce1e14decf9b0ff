"""Request → proposal → accept → meetings → invites, through the real parts: the API on PostgreSQL,
the on-commit nudge over Redis, a Celery worker process, an SMTP server, parsed and validated mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from directory.models import Person, Topic
from events.models import Meeting
from tests.factories import RoomFactory, VenueFactory
from tests.support.dates import working_day_from
from visits.models import Visit

from .conftest import needs_services, wait_for
from .test_notifications_flow import imip

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_requested_visit_gets_a_proposed_programme_booked_and_invited(on_postgres, smtp_server, make_worker):
    worker = make_worker()
    worker.start()
    user = get_user_model().objects.create_user("coord", "coordinator@centre.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    Person.objects.create(name="Carla Coordinator", email="coordinator@centre.example.org", user=user)
    cell = Topic.objects.create(name="Cell therapeutics", slug="cell-therapeutics", meeting_minutes=60)
    eureka = Topic.objects.create(name="Eureka", slug="eureka", meeting_minutes=45)
    venue = VenueFactory(name="Stem cell centre")
    RoomFactory(venue=venue, name="Seminar room", capacity=12)
    ada = Person.objects.create(name="Dr. Ada Lind", email="ada@centre.example.org")
    ada.expertise.set([cell])
    eve = Person.objects.create(name="Dr. Eve Marx", email="eve@centre.example.org")
    eve.expertise.set([eureka])

    start = working_day_from(30)  # not a weekend or a holiday at the venue, whatever today is
    requested = APIClient().post("/api/v1/visit-requests/", {
        "organisation": {"name": "Life Science Nord", "country": "DE", "website": "https://example.org"},
        "contact": {"name": "Dr. Hinrich Habeck", "email": "habeck@lsn.example.org", "language": "en"},
        "delegation": {"name": "LSN delegation", "size": 3,
                       "members": [{"name": "Anna Berg", "email": "berg@lsn.example.org", "job_title": "CEO"}]},
        "preferred_windows": [{"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()}],
        "topics": ["cell-therapeutics", "eureka"],
        "purpose": "Cross-border R&D cooperation.",
    }, format="json")
    assert requested.status_code == 201, requested.content
    visit_id = api.get("/api/v1/visits/").json()["results"][0]["id"]
    assert api.post(f"/api/v1/visits/{visit_id}/confirm/", {}, format="json").status_code == 200

    proposal = api.post(f"/api/v1/visits/{visit_id}/proposals/", {"time_limit_seconds": 5}, format="json")
    assert proposal.status_code == 201, proposal.content
    proposal = proposal.json()
    assert proposal["unplaced"] == []
    reasons = {i["key"]: i["reason"] for i in proposal["items"]}
    assert reasons["topic-cell-therapeutics"].startswith("Dr. Ada Lind: expertise in Cell therapeutics; free ")
    assert "Seminar room: fits" in reasons["topic-eureka"]

    accepted = api.post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.content
    booked = {i["key"]: i["meeting"] for i in accepted.json()["items"]}
    meetings = Meeting.objects.filter(pk__in=booked.values()).prefetch_related("participations__person")
    assert meetings.count() == len(booked) and set(booked) >= {"welcome", "topic-cell-therapeutics", "wrap-up"}
    # Hosts: an invitation per meeting. The delegation: the programme in one mail (the visit's default),
    # sent because accepting booked the visit's first programme.
    visit = Visit.objects.get(pk=visit_id)
    delegation = {p.email.lower() for p in visit.delegation.members.all()} | {visit.contact.email.lower()}
    expected = {(p.person.email.lower(), m.uid) for m in meetings for p in m.participations.all()
                if p.person.email.lower() not in delegation}
    assert ("ada@centre.example.org", Meeting.objects.get(pk=booked["topic-cell-therapeutics"]).uid) in expected
    wait_for(lambda: expected <= {(to, str(ev["UID"])) for to, ev, _ in imip(smtp_server, method="REQUEST")},
             timeout=90, what="an invite per host per booked meeting")
    wait_for(lambda: {r.rcpt_tos[0].lower() for r in smtp_server.snapshot() if r.key.startswith("programme:")}
             == delegation, timeout=90, what="one programme mail per delegation member")
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"
