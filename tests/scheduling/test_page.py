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
