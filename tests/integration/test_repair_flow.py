"""Repair after a cancellation and a decline, through the real parts (issue 19): the API on PostgreSQL,
the on-commit nudge over Redis, a Celery worker process and an SMTP server.

A cancelled meeting is the coordinator's decision: the repair's preview books nothing and mails nobody,
and the confirmed repair mails only what its plan said — never a new invitation for the cancelled one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from directory.models import Person, Topic
from events.models import Meeting
from notifications.models import Kind, OutboxMessage
from tests.factories import RoomFactory, VenueFactory
from tests.support.dates import working_day_from
from visits import booking
from visits.models import Visit

from .conftest import needs_services, wait_for
from .test_notifications_flow import imip

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_repair_after_a_cancellation_books_nothing_cancelled_and_mails_only_after_confirmation(
        on_postgres, smtp_server, make_worker):
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
    dana = Person.objects.create(name="Dr. Dana Wolf", email="dana@centre.example.org")
    for expert in (ada, dana):
        expert.expertise.set([cell])
    eve = Person.objects.create(name="Dr. Eve Marx", email="eve@centre.example.org")
    eve.expertise.set([eureka])

    start = working_day_from(30)  # not a weekend or a holiday at the venue, whatever today is
    requested = APIClient().post("/api/v1/visit-requests/", {
        "organisation": {"name": "Life Science Nord", "country": "DE", "website": "https://example.org"},
        "contact": {"name": "Dr. Hinrich Habeck", "email": "habeck@lsn.example.org", "language": "en"},
        "delegation": {"name": "LSN delegation", "size": 2,
                       "members": [{"name": "Anna Berg", "email": "berg@lsn.example.org", "job_title": "CEO"}]},
        "preferred_windows": [{"start": start.isoformat(), "end": start.isoformat()}],
        "topics": ["cell-therapeutics", "eureka"],
        "purpose": "Cross-border R&D cooperation.",
    }, format="json")
    assert requested.status_code == 201, requested.content
    visit_id = api.get("/api/v1/visits/").json()["results"][0]["id"]
    # Per-meeting invitations for the delegation too: this test follows each meeting's own mails (the
    # default, one programme mail per change, is tested in test_programme_flow.py).
    Visit.objects.filter(pk=visit_id).update(delegation_mail=Visit.DelegationMail.INVITES)
    assert api.post(f"/api/v1/visits/{visit_id}/confirm/", {}, format="json").status_code == 200
    proposal = api.post(f"/api/v1/visits/{visit_id}/proposals/", {"time_limit_seconds": 5}, format="json").json()
    accepted = api.post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.content
    items = {i["key"]: i for i in accepted.json()["items"]}
    cell_meeting = Meeting.objects.get(pk=items["topic-cell-therapeutics"]["meeting"])
    eureka_meeting = Meeting.objects.get(pk=items["topic-eureka"]["meeting"])
    host = next(p["person"] for p in items["topic-cell-therapeutics"]["participants"] if p["role"] == "host")
    host_email = Person.objects.get(pk=host).email
    wait_for(lambda: {str(ev["UID"]) for _, ev, _ in imip(smtp_server, method="REQUEST")}
             >= {cell_meeting.uid, eureka_meeting.uid}, timeout=90, what="the programme's invitations")

    # The coordinator cancels Eureka on purpose; everyone in it hears so.
    assert api.post(f"/api/v1/meetings/{eureka_meeting.pk}/cancel/", {}, format="json").status_code == 200
    eureka_people = {p.person.email.lower() for p in eureka_meeting.participations.select_related("person")}
    wait_for(lambda: {to for to, _, _ in imip(smtp_server, method="CANCEL", uid=eureka_meeting.uid)} == eureka_people,
             timeout=90, what="the cancellation of Eureka")
    # Then the cell therapeutics host declines.
    booking.meeting_answer(participation=cell_meeting.participations.get(person_id=host), answer="declined")
    # The coordinator hears of it in the window's answer summary (due when the window closes, 10 minutes).
    wait_for(lambda: OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY, person__email=user.email).exists(),
             timeout=90, what="the coordinator's answer summary owed")
    meetings_before = Meeting.objects.count()
    sequence_before = Meeting.objects.get(pk=cell_meeting.pk).sequence
    smtp_server.clear()

    # Preview: the plan, and nothing else.
    preview = api.post(f"/api/v1/proposals/{proposal['id']}/repair/", {"time_limit_seconds": 5}, format="json")
    assert preview.status_code == 200, preview.content
    plan = preview.json()["plan"]
    changes = {c["key"]: c for c in plan["changes"]}
    assert changes["topic-eureka"]["outcome"] == "stays_cancelled" and changes["topic-eureka"]["mail"] == []
    cell_change = changes["topic-cell-therapeutics"]
    assert cell_change["outcome"] == "repaired" and cell_change["after"]["host"] == dana.pk
    planned = {(m["person"], m["mail"]) for m in cell_change["mail"]}
    # Dana, the next expert, was invited as an optional guest (an update) unless she was not (an invitation).
    dana_was_there = cell_meeting.participations.filter(person=dana).exists()
    assert (host, "cancel") in planned and (dana.pk, "update" if dana_was_there else "invitation") in planned

    # A barrier: an unrelated invitation the worker must send. Whatever the preview had made owed
    # would go out in the same dispatch or before it.
    barrier = Person.objects.create(name="Barrier", email="barrier@centre.example.org")
    day = start + timedelta(days=3)
    made = api.post("/api/v1/meetings/", {
        "title": "Unrelated seminar", "starts_at": f"{day}T15:00:00+00:00", "ends_at": f"{day}T16:00:00+00:00",
        "timezone": "Europe/Berlin", "location": "Library", "participants": [{"person": barrier.pk, "role": "host"}],
    }, format="json")
    assert made.status_code == 201, made.content
    wait_for(lambda: imip(smtp_server, method="REQUEST", uid=made.json()["uid"]), timeout=90, what="the barrier mail")
    programme_uids = {cell_meeting.uid, eureka_meeting.uid}
    assert not [r for r in smtp_server.snapshot() if r.rcpt_tos != [barrier.email]], "mail before confirmation"
    assert Meeting.objects.count() == meetings_before + 1  # the barrier only
    assert Meeting.objects.get(pk=cell_meeting.pk).sequence == sequence_before
    assert Meeting.objects.get(pk=eureka_meeting.pk).status == Meeting.Status.CANCELLED

    # Confirm: exactly the plan, and the mails it listed.
    confirmed = api.post(f"/api/v1/proposals/{proposal['id']}/repair/", {"confirm": True, "plan": plan["token"]},
                         format="json")
    assert confirmed.status_code == 200, confirmed.content
    wait_for(lambda: host_email in {to for to, _, _ in imip(smtp_server, method="CANCEL", uid=cell_meeting.uid)}
             and dana.email in {to for to, _, _ in imip(smtp_server, method="REQUEST", uid=cell_meeting.uid)},
             timeout=90, what="the declined host's cancellation and the new host's invitation")
    emails = dict(Person.objects.filter(pk__in=[p for p, _ in planned]).values_list("pk", "email"))
    wanted_requests = {emails[p].lower() for p, mail in planned if mail in ("invitation", "update")}
    wait_for(lambda: {to for to, _, _ in imip(smtp_server, method="REQUEST", uid=cell_meeting.uid)} == wanted_requests,
             timeout=90, what="an invitation or update to everyone the plan named")
    assert Meeting.objects.count() == meetings_before + 1
    assert Meeting.objects.get(pk=eureka_meeting.pk).status == Meeting.Status.CANCELLED
    assert not imip(smtp_server, method="REQUEST", uid=eureka_meeting.uid), "the cancelled meeting was re-invited"
    assert {str(ev["UID"]) for _, ev, _ in [*imip(smtp_server, method="REQUEST"), *imip(smtp_server, method="CANCEL")]
            } <= programme_uids | {made.json()["uid"]}
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"
    worker.stop()
