"""The organiser mailbox end to end: a real Dovecot, a real worker, PostgreSQL, Redis and an SMTP sink.

An invitation goes out; each calendar client's answer is delivered into the organiser mailbox (IMAP
APPEND, as the MTA does); one run of the beat task later its PARTSTAT is in the API and the feed. Stale,
forged, duplicated answers and a worker killed mid-batch change nothing twice; a COUNTER accepted moves
the meeting and sends updates, declined sends DECLINECOUNTER.
"""

from __future__ import annotations

import time
from datetime import timedelta

import icalendar
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from events.models import Meeting
from notifications import mailbox
from notifications.models import CounterProposal, HeldAnswer, InboundMessage
from tests.factories import PersonFactory
from tests.notifications.itip_fixtures import ANSWER, CLIENTS, client_reply
from tests.support.ical_checks import assert_valid_ical

from .conftest import needs_services, wait_for
from .test_notifications_flow import imip

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ORGANIZER = "visits@host.example.org"
PROCESSED = "Visitdesk/Processed"


def read_mailbox_now() -> None:
    """What beat does every VISITDESK_ORGANIZER_IMAP_POLL_SECONDS."""
    from notifications.tasks import read_organizer_mailbox

    read_organizer_mailbox.apply_async()


@pytest.fixture
def coordinator_api():
    user = get_user_model().objects.create_user("coord", "coordinator@host.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def mailbox_settings(settings, private_imap):
    settings.VISITDESK_ORGANIZER_EMAIL = ORGANIZER
    settings.VISITDESK_ORGANIZER_IMAP_URL = private_imap.url
    return settings


def worker_for(make_worker, private_imap, concurrency: int = 2):
    worker = make_worker(concurrency=concurrency, VISITDESK_ORGANIZER_IMAP_URL=private_imap.url,
                         VISITDESK_ORGANIZER_EMAIL=ORGANIZER)
    worker.start()
    return worker


def rsvp_in_api(api, meeting_id: int, email: str) -> str:
    body = api.get(f"/api/v1/meetings/{meeting_id}/").json()
    return next(p["rsvp"] for p in body["participants"] if p["email"] == email)


def partstat_in_feed(person, uid: str, email: str) -> str:
    """The attendee's PARTSTAT in ``person``'s own subscription feed."""
    response = Client().get(reverse("calendars:person-feed", kwargs={"token": person.feed_token}))
    assert response.status_code == 200
    cal = icalendar.Calendar.from_ical(b"".join(response.streaming_content) if response.streaming else response.content)
    for event in cal.walk("VEVENT"):
        if str(event["UID"]) == uid:
            attendees = event.get("ATTENDEE", [])
            for attendee in attendees if isinstance(attendees, list) else [attendees]:
                if str(attendee).lower() == f"mailto:{email}":
                    return str(attendee.params["PARTSTAT"])
    return ""


def test_answers_from_every_client_reach_the_api_and_the_feed(smtp_server, make_worker, private_imap, mailbox_settings,
                                                              coordinator_api):
    worker = worker_for(make_worker, private_imap)
    people = [PersonFactory(name=n, email=e) for n, e in (
        ("Jürgen Weber", "j.weber@partner.example.org"), ("Lena Holm", "lena.holm@gmail.example.com"),
        ("Søren Ødegård", "soren@icloud.example.com"), ("Ana Martínez", "ana@thunderbird.example.net"))]
    start = (timezone.now() + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    created = coordinator_api.post("/api/v1/meetings/", {
        "title": "GMP manufacturing", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Berlin", "location": "Board room",
        "participants": [{"person": people[0].pk, "role": "host"}, *({"person": p.pk, "role": "guest"} for p in people[1:])],
    }, format="json")
    assert created.status_code == 201, created.content
    meeting = Meeting.objects.get(pk=created.json()["id"])
    invites = wait_for(lambda: len(found := imip(smtp_server, method="REQUEST", uid=meeting.uid)) == 4 and found,
                       what="the invitations")
    assert all(str(ev["ORGANIZER"]).lower() == f"mailto:{ORGANIZER}" for _, ev, _ in invites)

    # Each client's answer, delivered into the mailbox; one poll later it is in the API and the feed.
    timings = []
    for person, client in zip(people, CLIENTS, strict=True):
        private_imap.append(client_reply(client, meeting, attendee=person.email, other=people[0].email,
                                         organizer=ORGANIZER))
        arrived = time.monotonic()
        read_mailbox_now()
        wait_for(lambda p=person, c=client: rsvp_in_api(coordinator_api, meeting.pk, p.email) == ANSWER[c],
                 interval=0.05, what=f"{client}'s answer in the API")
        timings.append(time.monotonic() - arrived)
        assert partstat_in_feed(person, meeting.uid, person.email) == ANSWER[client].upper()
    print(f"\narrival → PARTSTAT in the API: {', '.join(f'{t:.2f}s' for t in timings)}")
    wait_for(lambda: private_imap.count(PROCESSED) == 4 and private_imap.count("INBOX") == 0,
             what="the answers moved to the processed folder")

    # A COUNTER declined: the person gets a DECLINECOUNTER the strict validators accept.
    private_imap.append(client_reply("outlook_counter.eml", meeting, attendee=people[0].email, organizer=ORGANIZER))
    read_mailbox_now()
    counter = wait_for(lambda: CounterProposal.objects.filter(meeting=meeting).first(), what="the counter-proposal")
    listed = coordinator_api.get(f"/api/v1/counter-proposals/?meeting={meeting.pk}").json()["results"]
    assert [c["id"] for c in listed] == [counter.pk] and listed[0]["person_email"] == people[0].email
    declined = coordinator_api.post(f"/api/v1/counter-proposals/{counter.pk}/decline/",
                                    {"comment": "The board room is taken then."}, format="json")
    assert declined.status_code == 200, declined.content
    decline = wait_for(lambda: imip_declinecounter(smtp_server, meeting.uid), what="the DECLINECOUNTER")
    assert decline[0] == people[0].email

    # A forged From is held, not applied.
    private_imap.append(client_reply("gmail_decline.eml", meeting, attendee=people[3].email,
                                     sender="mallory@evil.example", organizer=ORGANIZER))
    read_mailbox_now()
    wait_for(lambda: HeldAnswer.objects.filter(meeting=meeting).exists(), what="the held answer")
    held = coordinator_api.get("/api/v1/held-answers/?state=pending").json()["results"]
    assert [(h["person_email"], h["answer"], h["sender"]) for h in held] == [
        (people[3].email, "declined", "mallory@evil.example")]
    assert rsvp_in_api(coordinator_api, meeting.pk, people[3].email) == "accepted"

    # The same reply delivered twice changes nothing the second time.
    twice = client_reply("thunderbird_accept.eml", meeting, attendee=people[1].email, organizer=ORGANIZER)
    private_imap.append(twice)
    read_mailbox_now()
    wait_for(lambda: rsvp_in_api(coordinator_api, meeting.pk, people[1].email) == "accepted", what="Lena accepts")
    assert coordinator_api.post(f"/api/v1/meetings/{meeting.pk}/rsvp/", {"rsvp": "tentative", "person": people[1].pk},
                                format="json").status_code == 200
    private_imap.append(twice)
    taken = InboundMessage.objects.count()
    read_mailbox_now()
    wait_for(lambda: private_imap.count("INBOX") == 0, what="the duplicate filed")
    assert InboundMessage.objects.count() == taken
    assert rsvp_in_api(coordinator_api, meeting.pk, people[1].email) == "tentative"

    # A stale reply (to the SEQUENCE before a move) changes nothing.
    moved = coordinator_api.post(f"/api/v1/meetings/{meeting.pk}/reschedule/", {
        "starts_at": (start + timedelta(hours=2)).isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
    }, format="json")
    assert moved.status_code == 200, moved.content
    wait_for(lambda: len([x for x in imip(smtp_server, method="REQUEST", uid=meeting.uid)
                          if int(x[1]["SEQUENCE"]) == 1]) == 4, what="the updates")
    wait_for(lambda: rsvp_in_api(coordinator_api, meeting.pk, people[2].email) == "needs-action",
             what="the answer reset by the update")
    stale = client_reply("apple_tentative.eml", meeting, attendee=people[2].email, sequence=0, organizer=ORGANIZER)
    private_imap.append(stale)
    read_mailbox_now()
    record = wait_for(lambda: InboundMessage.objects.filter(detail__contains="SEQUENCE 0").first(), what="the stale one")
    assert record.outcome == "ignored"
    assert rsvp_in_api(coordinator_api, meeting.pk, people[2].email) == "needs-action"

    # A COUNTER accepted moves the meeting; everyone gets the update.
    meeting.refresh_from_db()
    new_start = meeting.starts_at + timedelta(hours=3)
    private_imap.append(client_reply("outlook_counter.eml", meeting, attendee=people[0].email, new_start=new_start,
                                     organizer=ORGANIZER))
    read_mailbox_now()
    counter = wait_for(lambda: CounterProposal.objects.filter(meeting=meeting, state="pending").first(),
                       what="the second counter-proposal")
    accepted = coordinator_api.post(f"/api/v1/counter-proposals/{counter.pk}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.content
    updates = wait_for(lambda: len(found := [x for x in imip(smtp_server, method="REQUEST", uid=meeting.uid)
                                             if int(x[1]["SEQUENCE"]) == 2]) == 4 and found, what="updates")
    assert all(ev["DTSTART"].dt == new_start for _, ev, _ in updates)
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"
    worker.stop()


def imip_declinecounter(sink, uid: str):
    for received in sink.snapshot():
        for part in received.message.walk():
            if part.get_content_type() == "text/calendar" and part.get_param("method") == "DECLINECOUNTER":
                data = part.get_payload(decode=True)
                event = assert_valid_ical(data, method="DECLINECOUNTER").walk("VEVENT")[0]
                if str(event["UID"]) == uid:
                    return received.rcpt_tos[0].lower(), event
    return None


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(smtp_server, make_worker, private_imap,
                                                            mailbox_settings, coordinator_api):
    guests = [PersonFactory(email=f"guest{i}@partner.example.org") for i in range(40)]
    start = (timezone.now() + timedelta(days=12)).replace(hour=10, minute=0, second=0, microsecond=0)
    created = coordinator_api.post("/api/v1/meetings/", {
        "title": "Open lab day", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "timezone": "Europe/Berlin", "location": "Foyer",
        "participants": [{"person": g.pk, "role": "guest"} for g in guests],
    }, format="json")
    assert created.status_code == 201, created.content
    meeting = Meeting.objects.get(pk=created.json()["id"])
    answers = [client_reply(CLIENTS[i % 4], meeting, attendee=g.email, other="nobody@example.org",
                            organizer=ORGANIZER) for i, g in enumerate(guests)]
    answers.append(client_reply("outlook_counter.eml", meeting, attendee=guests[0].email, organizer=ORGANIZER))
    private_imap.append(*answers)

    worker = worker_for(make_worker, private_imap, concurrency=1)
    read_mailbox_now()
    wait_for(lambda: InboundMessage.objects.count() >= 3, interval=0.02, what="the first answers taken")
    worker.kill9()
    taken_before_kill = InboundMessage.objects.count()
    assert taken_before_kill < len(answers), "the batch finished before the kill; nothing was tested"

    worker.start()  # acks_late: the killed task is delivered again; a new poll as beat would send
    read_mailbox_now()
    wait_for(lambda: InboundMessage.objects.count() == len(answers) and private_imap.count("INBOX") == 0,
             timeout=120, what="every answer taken after the restart")
    assert private_imap.count(PROCESSED) == len(answers), "a message was lost or filed twice"
    assert CounterProposal.objects.filter(meeting=meeting).count() == 1, "the counter-proposal was stored twice"
    for guest, client in zip(guests, [CLIENTS[i % 4] for i in range(len(guests))], strict=True):
        assert rsvp_in_api(coordinator_api, meeting.pk, guest.email) == ANSWER[client]
    print(f"\nkilled after {taken_before_kill} of {len(answers)} messages; all taken once after the restart")
    worker.stop()


def test_other_mail_stays_unread_and_garbage_goes_to_a_person(private_imap, mailbox_settings, db):
    person = PersonFactory(email="lena.holm@gmail.example.com")
    meeting = Meeting.objects.create(title="x", starts_at=timezone.now() + timedelta(days=1),
                                     ends_at=timezone.now() + timedelta(days=1, hours=1))
    private_imap.append(client_reply("plain.eml", meeting, attendee=person.email, organizer=ORGANIZER),
                        client_reply("garbage.eml", meeting, attendee=person.email, organizer=ORGANIZER))
    stats = mailbox.read_mailbox()
    assert stats["taken"] == 2
    assert private_imap.count("INBOX") == 1 and private_imap.unseen("INBOX") == 1, "other mail stays, unread"
    assert private_imap.count("Visitdesk/Needs a person") == 1 and private_imap.unseen("Visitdesk/Needs a person") == 1
    again = mailbox.read_mailbox()
    assert "taken" not in again and "again" not in again, "mail left for people is not read on every poll"
