"""The coordinator's answer summary end to end: PostgreSQL, Redis, a real worker, an SMTP sink and Dovecot.

A host declines in their calendar client (an iTIP REPLY read from the organiser mailbox), another host
declines and a guest accepts through the signed links in their invitations: the coordinator receives
one mail naming all three when the window closes, not three. A later answer opens the next window and
is a second mail. Beat's every-minute dispatch is played by enqueueing it, several at once.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from directory.models import Person
from events.models import Meeting
from notifications import links
from notifications.models import Kind, OutboxMessage
from tests.factories import PersonFactory
from tests.notifications.itip_fixtures import client_reply

from .conftest import enqueue_dispatch, needs_services, wait_for
from .test_notifications_flow import imip
from .test_organizer_mailbox import ORGANIZER, read_mailbox_now, rsvp_in_api

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WINDOW = 15


def summaries(sink, to: str):
    return [r for r in sink.snapshot() if r.key.startswith("answers:") and r.rcpt_tos == [to]]


def text_of(received) -> str:
    return received.message.get_body(preferencelist=("plain",)).get_content()


def answer_by_link(meeting: Meeting, person: Person, answer: str) -> None:
    path = urlsplit(links.rsvp_url(meeting_id=meeting.pk, person_id=person.pk, answer=answer)).path
    assert Client().post(path).status_code == 200


def test_three_answers_in_one_window_are_one_mail_and_a_later_one_a_second(
        smtp_server, make_worker, private_imap, settings):
    settings.VISITDESK_ORGANIZER_EMAIL = ORGANIZER
    settings.VISITDESK_ORGANIZER_IMAP_URL = private_imap.url
    settings.VISITDESK_ANSWER_DIGEST_SECONDS = WINDOW
    worker = make_worker(VISITDESK_ORGANIZER_IMAP_URL=private_imap.url, VISITDESK_ORGANIZER_EMAIL=ORGANIZER,
                         VISITDESK_ANSWER_DIGEST_SECONDS=WINDOW)
    worker.start()
    user = get_user_model().objects.create_user("coord", "carla@centre.example.org", "x", is_staff=True)
    coordinator = Person.objects.create(name="Carla Coordinator", email="carla@centre.example.org", user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    lena = PersonFactory(name="Lena Holm", email="lena.holm@gmail.example.com")  # answers in Gmail
    omar = PersonFactory(name="Dr. Omar Sadik", email="omar@centre.example.org")
    ines = PersonFactory(name="Ines Vogt", email="ines@partner.example.org")
    start = (timezone.now() + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    made = api.post("/api/v1/meetings/", {
        "title": "GMP manufacturing", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(), "timezone": "Europe/Berlin", "location": "Board room",
        "participants": [{"person": lena.pk, "role": "host"}, {"person": omar.pk, "role": "host"},
                         {"person": ines.pk, "role": "guest"}],
    }, format="json")
    assert made.status_code == 201, made.content
    meeting = Meeting.objects.get(pk=made.json()["id"])
    wait_for(lambda: len(imip(smtp_server, method="REQUEST", uid=meeting.uid)) == 3, timeout=90, what="invitations")

    # Lena declines in Gmail; the REPLY reaches the organiser mailbox and is read by the worker.
    private_imap.append(client_reply("gmail_decline.eml", meeting, attendee=lena.email, organizer=ORGANIZER))
    read_mailbox_now()
    wait_for(lambda: rsvp_in_api(api, meeting.pk, lena.email) == "declined", timeout=90, what="Lena's REPLY applied")
    # Omar declines and Ines accepts through the links in their invitations, moments later.
    answer_by_link(meeting, omar, "declined")
    answer_by_link(meeting, ines, "accepted")

    def first_summary():
        enqueue_dispatch(times=2)  # beat's tick, twice at once: two dispatchers race for the row
        return summaries(smtp_server, coordinator.email)

    sent = wait_for(first_summary, timeout=120, interval=1, what="the coordinator's summary")
    text = text_of(sent[0])
    assert "Lena Holm (host) declined" in text and "Dr. Omar Sadik (host) declined" in text
    assert "Ines Vogt (guest) accepted" in text
    assert str(sent[0].message["Subject"]) == "Answers to your invitations: 2 declined, 1 accepted"
    assert len(summaries(smtp_server, coordinator.email)) == 1, "one mail for the window, not one per answer"
    assert not [r for r in smtp_server.snapshot() if r.key.startswith("rsvp-declined:")], "a per-decline mail"

    # A later answer opens the next window: a second mail with only that answer.
    answer_by_link(meeting, lena, "accepted")
    wait_for(lambda: len(first_summary()) == 2, timeout=120, interval=1, what="the second summary")
    second = text_of(summaries(smtp_server, coordinator.email)[1])
    assert "Lena Holm (host) accepted" in second and "Omar" not in second and "Ines" not in second
    for _ in range(3):
        enqueue_dispatch(times=2)
    wait_for(lambda: not OutboxMessage.objects.filter(state__in=("pending", "sending")).exclude(
        kind=Kind.REMINDER).exists(), timeout=60, what="the outbox settled")
    assert len(summaries(smtp_server, coordinator.email)) == 2
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"
    assert OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY, state="sent").count() == 2
    worker.stop()
