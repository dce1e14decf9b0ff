"""The programme document on the pages: the coordinator's visit page (links, "Send programme"), the
requester's status page, a member's itinerary link; each in the reader's language."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from notifications import links
from notifications.models import Kind, OutboxMessage
from notifications.reconcile import reconcile
from tests.factories import UserFactory
from tests.support.programmes import build_long_programme
from visits.models import Visit

pytestmark = pytest.mark.django_db


def path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def programme():
    return build_long_programme(language="de")


@pytest.fixture
def coordinator_client(client, programme):
    user = UserFactory(username="coord-programme", is_staff=True)
    client.force_login(user)
    return client


def test_the_visit_page_links_the_document_and_sends_the_programme(coordinator_client, programme):
    visit = programme.visit
    page = coordinator_client.get(reverse("web:staff-visit", args=[visit.pk])).content.decode()
    pdf = reverse("web:staff-visit-programme", kwargs={"pk": visit.pk, "fmt": "pdf"})
    assert f'href="{pdf}"' in page and 'data-testid="send-programme"' in page and "Send programme" in page
    response = coordinator_client.get(pdf)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Language"] == "en", "a coordinator reads in their browser's language"
    assert coordinator_client.get(pdf, {"lang": "de"})["Content-Language"] == "de"
    assert coordinator_client.get(pdf, {"lang": "xx"}).status_code == 400

    sent = coordinator_client.post(reverse("web:staff-visit-send-programme", args=[visit.pk]))
    assert sent.status_code == 302
    assert Visit.objects.get(pk=visit.pk).programme_sent_at is not None
    reconcile()
    assert OutboxMessage.objects.filter(kind=Kind.PROGRAMME, visit=visit).count() == 3
    again = coordinator_client.get(reverse("web:staff-visit", args=[visit.pk])).content.decode()
    assert "Send programme again" in again


def test_the_page_version_has_a_toolbar_and_the_other_language(coordinator_client, programme):
    url = reverse("web:staff-visit-programme", kwargs={"pk": programme.visit.pk, "fmt": "html"})
    body = coordinator_client.get(url, {"lang": "de"}).content.decode()
    assert '<html lang="de">' in body and "Besuchsprogramm" in body and "Anfahrt" in body
    assert f'href="{reverse("web:staff-visit-programme", kwargs={"pk": programme.visit.pk, "fmt": "pdf"})}?lang=de"' in body
    assert f'href="{url}?lang=en"' in body and "English" in body
    assert "visits/programme.css" in body, "the page links its stylesheet (no inline styles under the CSP)"
    assert "<style" not in body


def test_hosts_and_strangers(client, programme):
    url = reverse("web:staff-visit-programme", kwargs={"pk": programme.visit.pk, "fmt": "pdf"})
    assert client.get(url).status_code == 302, "sign in first"
    client.force_login(UserFactory(username="nobody", is_staff=False))
    assert client.get(url).status_code == 404
    assert client.post(reverse("web:staff-visit-send-programme", args=[programme.visit.pk])).status_code == 404


def test_the_requester_reaches_it_from_the_status_page_in_their_language(client, programme):
    visit = programme.visit
    status = client.get(reverse("web:visit-status", kwargs={"token": visit.status_token})).content.decode()
    pdf = reverse("web:visit-status-programme", kwargs={"token": visit.status_token, "fmt": "pdf"})
    assert f'href="{pdf}"' in status
    response = client.get(pdf)
    assert response.status_code == 200 and response["Content-Language"] == "de"
    assert response["X-Robots-Tag"] == "noindex, nofollow" and "private" in response["Cache-Control"]
    assert client.get(pdf.replace(visit.status_token, "x" * 32)).status_code == 404


def test_a_requested_visit_has_no_programme_document_for_the_requester(client, programme):
    Visit.objects.filter(pk=programme.visit.pk).update(status=Visit.Status.REQUESTED)
    token = programme.visit.status_token
    assert client.get(reverse("web:visit-status-programme", kwargs={"token": token, "fmt": "pdf"})).status_code == 404


def test_a_member_reaches_it_through_the_itinerary_link(client, programme):
    member = programme.members[1]
    page = client.get(path(links.itinerary_url(visit_id=programme.visit.pk, person=member))).content.decode()
    assert 'data-testid="programme-pdf"' in page
    pdf = links.itinerary_programme_url(visit_id=programme.visit.pk, person=member, pdf=True)
    response = client.get(path(pdf))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Language"] == "de", "the member's own language"
    html = client.get(path(links.itinerary_programme_url(visit_id=programme.visit.pk, person=member)), {"lang": "en"})
    assert html.status_code == 200 and "How to get there" in html.content.decode()
    forged = client.get(f"/n/itinerary/{'x' * 40}/programme.pdf")
    assert forged.status_code == 404
