"""The coordinator's proposal page: propose, read the reasons, pin, remove, re-solve, accept (CSP-clean HTML)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from events.models import Meeting
from scheduling.models import Proposal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_csp_clean(html: str) -> None:
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_the_visit_page_offers_propose_programme(centre):
    page = logged_in(centre.coordinator).get(f"/staff/visits/{centre.visit.pk}/")
    assert f'href="/staff/visits/{centre.visit.pk}/proposal/"' in page.content.decode()


def test_propose_read_pin_resolve_and_accept(centre):
    client = logged_in(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    empty = client.get(url)
    assert empty.status_code == 200 and "Propose programme" in empty.content.decode()
    created = client.post(f"{url}new/")
    assert created.status_code == 302
    proposal = Proposal.objects.get(visit=centre.visit)
    page = client.get(created["Location"])
    html = page.content.decode()
    assert_csp_clean(html)
    assert html.count('data-testid="proposal-item"') == 7
    assert "expertise in Cell therapeutics; free" in html
    assert "Accept and book" in html
    assert f'href="/staff/visits/{centre.visit.pk}/?proposal={proposal.pk}"' in html  # open in the planner
    item = proposal.items.get(key="topic-stem-cell-rd")
    assert client.post(f"{url}{proposal.pk}/items/{item.pk}/", {"action": "pin"}).status_code == 302
    client.post(f"{url}{proposal.pk}/resolve/")
    item.refresh_from_db()
    assert item.pinned and item.reason.startswith("Pinned by the coordinator")
    client.post(f"{url}{proposal.pk}/accept/")
    assert Meeting.objects.filter(programme_slot__visit=centre.visit).count() == 7
    after = client.get(url).content.decode()
    assert "Accept and book" not in after and "Repair after declines and absences" in after


def test_others_get_404(centre):
    client = logged_in(centre.host_user)
    assert client.get(f"/staff/visits/{centre.visit.pk}/proposal/").status_code == 404
    assert client.post(f"/staff/visits/{centre.visit.pk}/proposal/new/").status_code == 404
    assert not Proposal.objects.exists()


def test_the_admin_lists_proposals_read_only(centre):
    from scheduling.services import proposal_create

    proposal = proposal_create(visit=centre.visit, time_limit_seconds=5)
    client = logged_in(type(centre.coordinator).objects.create_superuser("root", "root@example.org", "x"))
    listing = client.get("/admin/scheduling/proposal/", {"q": centre.visit.reference})
    assert listing.status_code == 200 and centre.visit.reference in listing.content.decode()
    page = client.get(f"/admin/scheduling/proposal/{proposal.pk}/change/")
    assert page.status_code == 200 and "expertise in Cell therapeutics" in page.content.decode()
    assert client.get("/admin/scheduling/proposal/add/").status_code == 403


def test_repair_shows_its_plan_first_and_changes_only_after_confirmation(centre):
    from events import services as event_services
    from visits import booking

    client = logged_in(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    client.post(f"{url}new/")
    proposal = Proposal.objects.get(visit=centre.visit)
    client.post(f"{url}{proposal.pk}/accept/")
    stem = proposal.items.get(key="topic-stem-cell-rd")
    booking.meeting_cancel(meeting=stem.meeting)
    cell = proposal.items.get(key="topic-cell-therapeutics")
    host = cell.spec.host
    event_services.participant_rsvp(participation=cell.meeting.participations.get(person_id=host), answer="declined")
    sequences = dict(Meeting.objects.values_list("pk", "sequence"))

    preview = client.post(f"{url}{proposal.pk}/repair/")
    assert preview.status_code == 302 and preview["Location"].endswith("#repair")
    html = client.get(preview["Location"]).content.decode()
    assert_csp_clean(html)
    assert 'data-testid="repair-plan" data-applied="no"' in html
    assert "nothing is changed until you confirm" in html
    assert 'data-key="topic-stem-cell-rd" data-outcome="stays_cancelled"' in html
    assert "stays cancelled" in html
    assert 'data-key="topic-cell-therapeutics" data-outcome="repaired"' in html
    assert "hosts instead of" in html and 'data-mail="cancel"' in html
    assert dict(Meeting.objects.values_list("pk", "sequence")) == sequences  # nothing changed yet
    token = Proposal.objects.get(pk=proposal.pk).repair.token

    done = client.post(f"{url}{proposal.pk}/repair/confirm/", {"plan": token})
    assert done.status_code == 302 and f"repaired={token}" in done["Location"]
    result = client.get(done["Location"]).content.decode()
    assert 'data-testid="repair-plan" data-applied="yes"' in result and "What the repair changed" in result
    cell.meeting.refresh_from_db()
    assert not cell.meeting.participations.filter(person_id=host).exists()
    assert Meeting.objects.get(pk=stem.meeting_id).status == Meeting.Status.CANCELLED
    # Confirming the same plan twice does nothing more and says so.
    again = client.post(f"{url}{proposal.pk}/repair/confirm/", {"plan": token}, follow=True)
    assert "no longer the latest preview" in again.content.decode()


GERMAN_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                 "November", "Dezember"]


def test_the_proposal_page_in_german_badge_dates_and_repair(centre):
    from events import services as event_services

    client = logged_in(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    client.post(f"{url}new/")
    proposal = Proposal.objects.get(visit=centre.visit)
    client.post(f"{url}{proposal.pk}/accept/")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'data-testid="proposal-status">Angenommen</span>' in html
    day = centre.tuesday
    assert f"Dienstag, {day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}" in html
    assert "Nach Absagen und Abwesenheiten reparieren" in html
    cell = proposal.items.get(key="topic-cell-therapeutics")
    event_services.participant_rsvp(participation=cell.meeting.participations.get(person_id=cell.spec.host),
                                    answer="declined")
    preview = client.post(f"{url}{proposal.pk}/repair/", HTTP_ACCEPT_LANGUAGE="de")
    page = client.get(preview["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Vorschau der Reparatur" in page and "hat abgesagt" in page and "leitet statt" in page
    assert "Absage:" in page and "Reparatur bestätigen und" in page


def test_proposing_without_topics_asks_for_topics_on_the_page(centre):
    centre.visit.topics.clear()
    client = logged_in(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    page = client.post(f"{url}new/", follow=True).content.decode()
    assert "Add the topics the delegation wants to discuss first" in page
    assert not Proposal.objects.filter(visit=centre.visit).exists()
