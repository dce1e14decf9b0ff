"""The coordinator's whole flow on the demo data, through HTTP: visit page → Propose programme → accept.

What the lead tried by hand: on a fresh database with ``load_demo_data``, log in as the demo
coordinator, open the confirmed visit, propose its programme, accept, and find the meetings booked
and the invitations owed. The demo visit already has a welcome, lunch and a meeting for every topic,
so the proposal must only add what is missing (the wrap-up); the pending request has a whole
programme to propose around the scientific director's conference day.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import time

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone as djtz
from django.utils import translation

from events.models import Meeting
from notifications.models import Kind, OutboxMessage
from notifications.reconcile import reconcile_invites, reconcile_programmes
from scheduling.models import Proposal
from visits.models import Visit

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # the demo users exist only in DEBUG
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        call_command("load_demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
        client = Client()
        assert client.login(username="coordinator", password="demo")
        yield client


def test_propose_and_accept_the_demo_visit_books_only_what_is_missing(demo):
    visit = Visit.objects.get(status=Visit.Status.CONFIRMED)
    before = set(Meeting.objects.filter(programme_slot__visit=visit).values_list("pk", flat=True))

    visit_page = demo.get(f"/staff/visits/{visit.pk}/").content.decode()
    link = re.search(r'<a class="button" href="([^"]+)">Propose programme</a>', visit_page)
    assert link and link.group(1) == f"/staff/visits/{visit.pk}/proposal/"
    assert demo.get(link.group(1)).status_code == 200
    created = demo.post(f"{link.group(1)}new/")
    assert created.status_code == 302
    page = demo.get(created["Location"]).content.decode()

    # Everything the programme has is listed, nothing of it proposed again.
    assert page.count('data-testid="covered-item"') == 6  # welcome, 4 topics, lunch
    for title in ("Welcome and introductions", "R&amp;D cooperation: stem cells and cell therapeutics",
                  "EU programmes: Horizon 2020 and Eureka", "Lunch"):
        assert f"already in the programme: {title}" in page
    proposal = Proposal.objects.get(visit=visit)
    live = [i for i in proposal.items.all() if not i.removed]
    assert [i.key for i in live] == ["wrap-up"]
    wrap = live[0]
    lunch = Meeting.objects.get(programme_slot__visit=visit, title="Lunch")
    assert wrap.placed and wrap.starts_at >= lunch.ends_at and wrap.room is not None
    assert time(8, 30) <= wrap.starts_at.astimezone(BERLIN).time() and wrap.ends_at.astimezone(BERLIN).time() <= \
        time(16, 30)  # the coordinator chairs it, inside her working hours

    accepted = demo.post(f"/staff/visits/{visit.pk}/proposal/{proposal.pk}/accept/")
    assert accepted.status_code == 302
    assert "The programme is booked" in demo.get(accepted["Location"]).content.decode()

    new = Meeting.objects.filter(programme_slot__visit=visit).exclude(pk__in=before)
    assert [m.title for m in new] == ["Wrap-up and next steps"]
    meeting = new.get()
    people = set(meeting.participations.values_list("person__email", flat=True))
    assert people == {*visit.delegation.members.values_list("email", flat=True), visit.coordinator.email}
    reconcile_invites(now=djtz.now())
    invited = set(OutboxMessage.objects.filter(meeting=meeting, kind=Kind.INVITE).values_list("person__email",
                                                                                              flat=True))
    # Staff get an invitation; the delegation hears by its programme mail (the demo sent the programme,
    # not yet delivered here): one mail each, the new wrap-up in it.
    assert invited == {visit.coordinator.email}
    reconcile_programmes(now=djtz.now())
    updated = set(OutboxMessage.objects.filter(visit=visit, kind=Kind.PROGRAMME).values_list(
        "person__email", flat=True))
    assert updated == {*visit.delegation.members.values_list("email", flat=True), visit.contact.email}

    # Proposing again now finds the whole programme booked: nothing new to suggest, no error.
    again = demo.post(f"/staff/visits/{visit.pk}/proposal/new/")
    page = demo.get(again["Location"]).content.decode()
    assert again.status_code == 302 and 'data-testid="proposal-item"' not in page
    assert page.count('data-testid="covered-item"') == 7


def test_the_pending_request_is_planned_around_the_directors_conference(demo):
    visit = Visit.objects.get(status=Visit.Status.REQUESTED)
    created = demo.post(f"/staff/visits/{visit.pk}/proposal/new/")
    assert created.status_code == 302
    proposal = Proposal.objects.filter(visit=visit).latest("pk")
    items = {i.key: i for i in proposal.items.all()}
    assert {"welcome", "topic-cell-therapeutics", "topic-horizon-2020", "wrap-up"} <= set(items)
    assert all(i.placed for i in items.values()), {k: i.reason for k, i in items.items() if not i.placed}
    director = visit.host_organisation.people.get(job_title="Scientific Director")
    first_day = min(i.starts_at.astimezone(BERLIN).date() for i in items.values())
    for item in items.values():
        hosts = {p.person for p in item.participants if p.role in ("host", "chair")}
        if director.pk in hosts:
            assert item.starts_at.astimezone(BERLIN).date() != first_day, item.key  # away that day
        if hosts - {visit.coordinator_id}:
            local = item.starts_at.astimezone(BERLIN).time(), item.ends_at.astimezone(BERLIN).time()
            assert time(9) <= local[0] and local[1] <= time(17), item.key  # staff working hours
    page = demo.get(created["Location"]).content.decode()
    assert "expertise in Cell therapeutics" in page
