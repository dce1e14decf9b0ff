"""The requester's private status page: itinerary, cancel with a confirmation step, other dates."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Meeting
from visits.models import Visit, VisitMessage

from .conftest import request_visit


def status_url(visit):
    return reverse("web:visit-status", kwargs={"token": visit.status_token})


@pytest.mark.django_db
def test_a_wrong_token_is_404(client):
    request_visit()
    assert client.get("/visits/status/not-the-token/").status_code == 404
    assert client.get("/visits/status/not-the-token/cancel/").status_code == 404
    assert client.post("/visits/status/not-the-token/other-dates/", {"body": "x"}).status_code == 404


@pytest.mark.django_db
def test_the_page_is_private_and_not_cached(client):
    visit = request_visit()
    response = client.get(status_url(visit))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex">' in response.content.decode()


@pytest.mark.django_db
def test_a_confirmed_visit_shows_its_programme_by_day_in_the_visits_zone(client, confirmed_visit):
    body = client.get(status_url(confirmed_visit)).content.decode()
    assert "Confirmed" in body
    # local Berlin times, whatever the server's zone
    assert "09:00" in body and "10:15" in body and "11:30" in body
    assert "Welcome and introductions" in body
    assert "Board room, Stem Cell Campus" in body
    assert "Dr. Anna Schmidt" in body and "Prof. Ben Keller" in body
    assert "Joint call 2027" in body  # agenda item
    assert body.index("Welcome and introductions") < body.index("Lab tour: organoids") < body.index("Horizon 2020 consortium")
    # the visit's feed with webcal, Google and Outlook buttons
    assert "webcal://" in body and confirmed_visit.feed_token in body
    assert "calendar.google.com" in body and "outlook.live.com" in body


@pytest.mark.django_db
def test_cancel_asks_first_and_a_get_never_cancels(client, confirmed_visit):
    cancel_url = reverse("web:visit-cancel", kwargs={"token": confirmed_visit.status_token})
    page = client.get(cancel_url)
    assert page.status_code == 200
    assert "Yes, cancel the visit" in page.content.decode()
    confirmed_visit.refresh_from_db()
    assert confirmed_visit.status == Visit.Status.CONFIRMED

    response = client.post(cancel_url, {"reason": "Flights cancelled"})
    assert response.status_code == 302
    confirmed_visit.refresh_from_db()
    assert confirmed_visit.status == Visit.Status.CANCELLED
    assert confirmed_visit.decision_note == "Flights cancelled"
    # the programme is cancelled with it, so participants will get METHOD:CANCEL
    assert not Meeting.objects.filter(programme_slot__visit=confirmed_visit, status=Meeting.Status.SCHEDULED).exists()
    body = client.get(response["Location"]).content.decode()
    assert "is cancelled" in body
    assert "Cancel this visit" not in body
    # cancelling again is harmless
    again = client.post(cancel_url, {})
    assert again.status_code == 302


@pytest.mark.django_db
def test_asking_for_other_dates_leaves_a_message_for_the_coordinators(client):
    visit = request_visit()
    url = reverse("web:visit-reschedule", kwargs={"token": visit.status_token})
    empty = client.post(url, {"body": "   "})
    assert empty.status_code == 400
    assert "This field is required." in empty.content.decode()
    response = client.post(url, {"body": "Could we come in the week after instead?"})
    assert response.status_code == 302
    message = VisitMessage.objects.get(visit=visit)
    assert message.kind == VisitMessage.Kind.RESCHEDULE_REQUEST
    assert message.from_requester
    assert "week after" in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_status_pages_are_throttled(client, settings):
    import uuid

    rates = dict(settings.VISITDESK_THROTTLE_RATES, status="3/minute")
    settings.VISITDESK_THROTTLE_RATES = rates
    ip = f"10.252.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    codes = [client.get(f"/visits/status/guess-{n}/", REMOTE_ADDR=ip).status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]


@pytest.mark.django_db
def test_the_status_page_speaks_german_when_asked(client):
    visit = request_visit()
    body = client.get(status_url(visit), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"Ihr Besuch {visit.reference}" in body
    assert ">Angefragt<" in body
    assert "Diesen Besuch absagen" in body


@pytest.mark.django_db
def test_a_closed_visit_takes_no_more_messages_and_says_so(client):
    from visits.services import visit_cancel

    visit = visit_cancel(visit=request_visit())
    url = reverse("web:visit-reschedule", kwargs={"token": visit.status_token})
    response = client.post(url, {"body": "Another date?"}, follow=True)
    assert "messages are closed" in response.content.decode()
    assert not VisitMessage.objects.exists()
