"""The programme document and "Send programme" through the API (the role matrix covers who may)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from notifications import reconcile
from notifications.models import Kind, OutboxMessage
from visits import services as visit_services

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_in_the_asked_language_with_an_etag(world, coordinator_client):
    url = f"/api/v1/visits/{world.visit.pk}/programme.pdf"
    english = coordinator_client.get(url)
    assert english.status_code == 200 and english["Content-Type"] == "application/pdf"
    assert english["Content-Language"] == "en"
    assert english["Content-Disposition"] == f'inline; filename="programme-{world.visit.reference}-en.pdf"'
    text = pdf_text(english.content)
    assert "Lab tour" in text and "Lab 1" in text and "Dr. Hanna Host" in text and "Time" in text.title()
    german = coordinator_client.get(url, {"lang": "de"})
    assert german["Content-Language"] == "de" and "Alle Zeiten sind Ortszeit" in pdf_text(german.content)
    by_header = coordinator_client.get(url, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert by_header["Content-Language"] == "de"
    again = coordinator_client.get(url, HTTP_IF_NONE_MATCH=english["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_the_page_is_html_with_the_same_content(world, coordinator_client):
    response = coordinator_client.get(f"/api/v1/visits/{world.visit.pk}/programme.html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<h1" in body and "Lab tour" in body and "Lab 1" in body and 'lang="en"' in body


def test_an_unknown_language_is_a_400_naming_the_field(world, coordinator_client):
    response = coordinator_client.get(f"/api/v1/visits/{world.visit.pk}/programme.pdf", {"lang": "fr"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lang": ["Choose one of: en, de."]}


def test_an_unknown_visit_is_a_json_404_even_when_a_pdf_is_asked_for(coordinator_client):
    response = coordinator_client.get("/api/v1/visits/999999/programme.pdf", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404 and set(response.json()) == {"error"}


def test_send_programme_owes_each_member_one_mail(world, coordinator_client):
    visit_services.visit_confirm(visit=world.visit)
    response = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/send-programme/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["programme_sent_at"] and response.json()["delegation_mail"] == "programme"
    reconcile.reconcile()
    owed = OutboxMessage.objects.filter(kind=Kind.PROGRAMME, visit=world.visit)
    assert sorted(owed.values_list("person_id", flat=True)) == sorted(
        {world.visit.contact_id, *world.visit.delegation.members.values_list("pk", flat=True)})
