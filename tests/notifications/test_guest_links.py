"""Every link a recipient gets works for that recipient, without an account — and only for them.

Delegation guests have no login: the single-meeting link in their invite's VEVENT URL and in
reminders is signed for them (revoked with their feed token), feeds carry their own reader's link,
members get a read-only itinerary instead of the requester's status page (which can cancel the
visit), and a coordinator can rotate a visit's status and feed links (admin action and API).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import icalendar
import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from calendars.links import meeting_link_for_person, person_feed_url, visit_feed_url
from directory.models import Person
from directory.services import person_rotate_feed_token
from events import services as event_services
from notifications import dispatch
from tests.factories import PersonFactory, UserFactory
from visits import booking
from visits import services as visit_services
from visits.links import visit_status_url
from visits.models import Visit

from .conftest import berlin, calendar_part, parsed, text_part, to_addr

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


def _invite_of(person) -> icalendar.Event:
    message = next(parsed(m) for m in mail.outbox if person.email in m.to[0])
    data, _method = calendar_part(message)
    return icalendar.Calendar.from_ical(data).walk("VEVENT")[0]


def test_the_invites_meeting_link_works_without_an_account_for_that_guest_only(client, standalone, guest, host):
    meeting = standalone()
    dispatch.dispatch_due()
    url = str(_invite_of(guest)["URL"])
    assert url == meeting_link_for_person(meeting.pk, guest)
    response = client.get(path_of(url))  # anonymous
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and str(event["URL"]) == url
    # The host's link is another one; neither opens another meeting.
    host_url = str(_invite_of(host)["URL"])
    assert host_url != url and client.get(path_of(host_url)).status_code == 200
    other = standalone(start=meeting.starts_at + timedelta(hours=3))
    token = path_of(url).rsplit("/", 1)[1]
    assert client.get(f"/calendars/meetings/{other.pk}/{token}").status_code == 404
    assert client.get(path_of(url)[:-8] + "0000.ics").status_code == 404  # tampered signature
    # The staff link of the same meeting still answers 404 to anonymous readers.
    assert client.get(f"/calendars/meetings/{meeting.pk}.ics").status_code == 404


def test_the_link_dies_with_the_feed_token_or_the_participation(client, standalone, guest):
    meeting = standalone()
    url = path_of(meeting_link_for_person(meeting.pk, guest))
    assert client.get(url).status_code == 200
    person_rotate_feed_token(person=guest)
    assert client.get(url).status_code == 404
    fresh = path_of(meeting_link_for_person(meeting.pk, Person.objects.get(pk=guest.pk)))
    assert client.get(fresh).status_code == 200
    event_services.participant_remove(meeting=meeting, person=guest)
    assert client.get(fresh).status_code == 404


def test_host_reminders_link_the_hosts_own_file(client, standalone, send, host):
    with time_machine.travel(berlin(2026, 6, 1, 8, 0), tick=False) as clock:
        meeting = standalone(start=berlin(2026, 6, 3, 10, 0))
        send()
        clock.move_to(berlin(2026, 6, 2, 10, 0, 5))
        (reminder,) = [m for m in send() if m["X-Visitdesk-Key"].startswith("reminder:")]
    link = meeting_link_for_person(meeting.pk, host)
    assert f"Calendar file: {link}" in text_part(reminder)
    assert client.get(path_of(link)).status_code == 200


def test_feeds_carry_their_own_readers_meeting_links(client, requested_visit, host):
    visit = requested_visit()
    start = berlin(2027, 2, 1, 10, 0)
    meeting = booking.meeting_create(
        visit=visit, title="Welcome", starts_at=start, ends_at=start + timedelta(hours=1),
        participants=[event_services.ParticipantSpec(host, "host")])
    person_feed = client.get(path_of(person_feed_url(host))).content
    (event,) = icalendar.Calendar.from_ical(person_feed).walk("VEVENT")
    assert str(event["URL"]) == meeting_link_for_person(meeting.pk, host)
    visit_feed = client.get(path_of(visit_feed_url(visit))).content
    (event,) = icalendar.Calendar.from_ical(visit_feed).walk("VEVENT")
    visit_meeting = str(event["URL"])
    assert visit_meeting.endswith(f"/calendars/visits/{visit.feed_token}/meetings/{meeting.pk}.ics")
    assert client.get(path_of(visit_meeting)).status_code == 200
    visit_services.visit_rotate_feed_token(visit=visit)
    assert client.get(path_of(visit_meeting)).status_code == 404
    assert client.get(path_of(visit_feed_url(Visit.objects.get(pk=visit.pk)))).status_code == 200


def test_members_get_a_read_only_itinerary_and_only_the_requester_the_status_link(client, requested_visit, send, host):
    with time_machine.travel(berlin(2026, 6, 1, 8, 0), tick=False) as clock:
        visit = requested_visit(first_day=date(2026, 6, 10))
        start = berlin(2026, 6, 10, 9, 30)
        booking.meeting_create(
            visit=visit, title="Welcome", starts_at=start, ends_at=start + timedelta(hours=1),
            participants=[event_services.ParticipantSpec(host, "host")])
        visit_services.visit_confirm(visit=visit)
        send()
        clock.move_to(berlin(2026, 6, 3, 9, 30, 5))
        sent = {to_addr(m): text_part(m) for m in send() if m["X-Visitdesk-Key"].startswith("reminder:")}
    status_url = visit_status_url(visit)
    assert status_url in sent["anna@lsn.example.org"]  # the requester
    member_text = sent["mika@lsn.example.org"]
    assert status_url not in member_text and "/visits/status/" not in member_text
    itinerary = re.search(r"Your itinerary: (\S+)", member_text).group(1)
    page = client.get(path_of(itinerary))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Welcome" in html and visit.reference in html and "webcal://" in html
    assert "cancel" not in html.lower() and "<form" not in html
    person_rotate_feed_token(person=Person.objects.get(email="mika@lsn.example.org"))
    assert client.get(path_of(itinerary)).status_code == 404
    assert client.get("/n/itinerary/forged-token/").status_code == 404


# --- rotation by a coordinator ---------------------------------------------------------------


def test_a_coordinator_rotates_a_visits_status_and_feed_links_through_the_api(client, requested_visit, host):
    visit = requested_visit()
    old_status, old_feed = visit_status_url(visit), visit_feed_url(visit)
    old_api = f"/api/v1/visit-requests/{visit.status_token}/"
    assert client.get(path_of(old_status)).status_code == 200
    assert client.get(path_of(old_feed)).status_code == 200

    api = APIClient()
    api.force_authenticate(UserFactory(username="coord-rotate", is_staff=True))
    response = api.post(f"/api/v1/visits/{visit.pk}/rotate-links/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rotated"] == ["status", "feed"]
    assert client.get(path_of(old_status)).status_code == 404
    assert APIClient().get(old_api).status_code == 404
    assert client.get(path_of(old_feed)).status_code == 404
    assert client.get(path_of(body["status_url"])).status_code == 200
    assert client.get(path_of(body["calendar_url"])).status_code == 200
    assert body["webcal_url"].startswith("webcal://")

    only_feed = api.post(f"/api/v1/visits/{visit.pk}/rotate-links/", {"links": ["feed"]}, format="json").json()
    assert only_feed["status_url"] == body["status_url"] and only_feed["calendar_url"] != body["calendar_url"]
    bad = api.post(f"/api/v1/visits/{visit.pk}/rotate-links/", {"links": ["everything"]}, format="json")
    assert bad.status_code == 400


def test_only_coordinators_may_rotate(requested_visit):
    visit = requested_visit()
    assert APIClient().post(f"/api/v1/visits/{visit.pk}/rotate-links/", {}, format="json").status_code in (401, 403)
    user = UserFactory(username="plain-host", is_staff=False)
    PersonFactory(user=user)
    api = APIClient()
    api.force_authenticate(user)
    assert api.post(f"/api/v1/visits/{visit.pk}/rotate-links/", {}, format="json").status_code == 404
    assert Visit.objects.get(pk=visit.pk).status_token == visit.status_token


def test_the_admin_actions_rotate_the_links(admin_client, requested_visit):
    visit = requested_visit()
    for action, field in (("rotate_status_links", "status_token"), ("rotate_feed_links", "feed_token")):
        before = getattr(Visit.objects.get(pk=visit.pk), field)
        response = admin_client.post("/admin/visits/visit/", {"action": action, "_selected_action": [visit.pk]})
        assert response.status_code == 302
        assert getattr(Visit.objects.get(pk=visit.pk), field) != before


def test_the_fast_link_builders_of_feeds_give_the_same_links(requested_visit, guest):
    from calendars.links import meeting_links_for_person, visit_meeting_links, visit_meeting_url

    visit = requested_visit()
    person_links, programme_links = meeting_links_for_person(guest), visit_meeting_links(visit)
    for meeting_id in (1, 7, 42, 987654321, 10**9 + 3):
        assert person_links(meeting_id) == meeting_link_for_person(meeting_id, guest)
        assert programme_links(meeting_id) == visit_meeting_url(visit, meeting_id)
