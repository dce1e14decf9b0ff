"""The request-a-visit form: what a requester sees when input is wrong, and what a valid form stores."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from visits.models import Visit

URL = "/visits/request/"


def form_data(**overrides):
    start = timezone.localdate() + timedelta(days=30)
    data = {
        "organisation_name": "Life Science Nord",
        "organisation_country": "de",
        "organisation_website": "lifescience-nord.example",
        "contact_name": "Kirsten Hansen",
        "contact_email": "kirsten@lifescience-nord.example",
        "contact_language": "de",
        "delegation_name": "LSN delegation",
        "delegation_size": "3",
        "purpose": "Stem cell cooperation",
        "members-TOTAL_FORMS": "2",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "50",
        "members-0-name": "Jens Berg",
        "members-0-email": "jens@lifescience-nord.example",
        "members-0-job_title": "Cluster manager",
        "members-1-name": "",
        "members-1-email": "",
        "members-1-job_title": "",
        "windows-TOTAL_FORMS": "1",
        "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "1",
        "windows-MAX_NUM_FORMS": "5",
        "windows-0-start": start.isoformat(),
        "windows-0-end": (start + timedelta(days=4)).isoformat(),
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_home_links_to_the_request_page(client):
    body = client.get("/").content.decode()
    assert 'href="/visits/request/"' in body
    assert "Request a visit" in body
    assert "webcal://" in body


@pytest.mark.django_db
def test_a_valid_request_is_stored_and_shows_reference_and_private_link(client, topics):
    response = client.post(URL, form_data(topics=[topics[0].pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:visit-request-sent")
    visit = Visit.objects.get()
    assert visit.delegation.organisation.country == "DE"
    assert visit.delegation.organisation.website == "https://lifescience-nord.example"
    assert visit.language == "de"
    assert {p.email for p in visit.delegation.members.all()} == {
        "kirsten@lifescience-nord.example", "jens@lifescience-nord.example"}
    assert list(visit.topics.all()) == [topics[0]]
    page = client.get(response["Location"]).content.decode()
    assert visit.reference in page
    assert f"/visits/status/{visit.status_token}/" in page


@pytest.mark.django_db
def test_the_sent_page_without_a_request_goes_back_to_the_form(client):
    assert client.get(reverse("web:visit-request-sent"))["Location"] == URL


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"contact_email": "kirsten-at-example"}, "id_contact_email", "Enter a valid email address."),
        ({"delegation_size": "0"}, "id_delegation_size", "greater than or equal to 1"),
        ({"delegation_size": "51"}, "id_delegation_size", "less than or equal to 50"),
        ({"windows-0-start": "2001-01-01", "windows-0-end": "2001-01-05"}, "id_windows-0-start", "This date is in the past."),
        ({"windows-0-end": (timezone.localdate() + timedelta(days=10)).isoformat()}, "id_windows-0-end",
         "The end is before the start."),
        ({"members-0-email": "jens@"}, "id_members-0-email", "Enter a valid email address."),
        ({"organisation_country": "Germany"}, "id_organisation_country", "two-letter country code"),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_nothing_typed_is_lost(client, overrides, field_id, message):
    response = client.post(URL, form_data(**overrides))
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    # the message is tied to its input for screen readers
    assert f'id="{field_id}_error"' in body
    assert f'aria-describedby="{field_id}_error"' in body or f"{field_id}_error\"" in body
    assert 'aria-invalid="true"' in body
    # what was typed elsewhere is still there
    assert 'value="Kirsten Hansen"' in body
    assert 'value="Jens Berg"' in body
    assert "Stem cell cooperation" in body
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_more_members_than_the_delegation_size_is_refused(client):
    data = form_data(**{"delegation_size": "1", "members-1-name": "Eva Lund", "members-1-email": "eva@example.org"})
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "more members than the number of people travelling" in response.content.decode()
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_window_is_required(client):
    data = form_data(**{"windows-0-start": "", "windows-0-end": ""})
    response = client.post(URL, data)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


@pytest.mark.django_db
def test_add_row_without_javascript_keeps_the_data_and_adds_an_empty_member_row(client):
    response = client.post(URL, form_data(add_member="1", contact_email="not-yet-valid"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="members-TOTAL_FORMS" value="3"' in body
    assert 'name="members-2-name"' in body
    assert 'value="not-yet-valid"' in body
    assert "errorlist" not in body  # no complaints while the requester is still typing
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_a_mangled_management_form_is_a_400_not_a_500(client):
    response = client.post(URL, form_data(**{"members-TOTAL_FORMS": "lots"}))
    assert response.status_code == 400
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_the_form_needs_a_csrf_token(topics):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, form_data())
    assert response.status_code == 403
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_submissions_are_throttled_per_client_ip(client, settings):
    rates = dict(settings.VISITDESK_THROTTLE_RATES, visit_request="2/hour")
    settings.VISITDESK_THROTTLE_RATES = rates
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    bad = form_data(contact_email="broken")
    codes = [client.post(URL, bad, REMOTE_ADDR=ip).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    refused = client.post(URL, form_data(), REMOTE_ADDR=ip)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert not Visit.objects.exists()
    # "add a row" is not a submission and the page itself stays readable
    assert client.post(URL, form_data(add_member="1"), REMOTE_ADDR=ip).status_code == 200
    assert client.get(URL, REMOTE_ADDR=ip).status_code == 200
    # ... and another client is not affected (a fresh key each run: the cache may be shared Redis)
    other_ip = f"10.251.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    assert client.post(URL, form_data(), REMOTE_ADDR=other_ip).status_code == 302


@pytest.mark.django_db
def test_the_page_is_translated_to_german(client):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="de")
    body = response.content.decode()
    assert '<html lang="de">' in body
    assert "Besuch anfragen" in body


@pytest.mark.django_db
def test_the_form_asks_how_long_the_visit_should_be(client, topics):
    page = client.get(URL).content.decode()
    assert "How long should the visit be?" in page
    assert 'name="duration" value="one_day"' in page and 'value="two_days"' in page
    assert client.post(URL, form_data(duration="two_days")).status_code == 302
    assert Visit.objects.get().duration == "two_days"
    refused = client.post(URL, form_data(duration="a fortnight", contact_email="other@lifescience-nord.example"))
    assert refused.status_code == 400 and Visit.objects.count() == 1
