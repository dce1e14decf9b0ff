"""Signed RSVP and opt-out links: GET asks, POST changes; forged, foreign or dead links answer 404."""

from __future__ import annotations

import pytest
from django.core import mail

from events import services as event_services
from notifications import dispatch, links
from tests.factories import PersonFactory

from .conftest import parsed, text_part

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


def test_the_accept_link_in_the_invite_sets_partstat(client, standalone, guest):
    meeting = standalone()
    dispatch.dispatch_due()
    body = text_part(next(parsed(m) for m in mail.outbox if guest.email in m.to[0]))
    url = next(line.split(": ", 1)[1] for line in body.splitlines() if line.strip().startswith("Accept:"))
    page = client.get(path_of(url))
    assert page.status_code == 200
    participation = meeting.participations.get(person=guest)
    assert participation.rsvp == "needs-action"  # a link preview must not answer for the reader
    page = client.post(path_of(url))
    assert page.status_code == 200
    participation.refresh_from_db()
    assert participation.rsvp == "accepted"


def test_forged_wrong_or_dead_rsvp_links_are_404(client, standalone, guest):
    meeting = standalone()
    good = links.rsvp_url(meeting_id=meeting.pk, person_id=guest.pk, answer="declined")
    assert client.get(path_of(good)).status_code == 200
    token = links.rsvp_token(meeting_id=meeting.pk, person_id=guest.pk)
    assert client.get(f"/n/rsvp/{token[:-2]}xx/declined/").status_code == 404
    assert client.get(f"/n/rsvp/{token}/maybe/").status_code == 404
    stranger = PersonFactory()
    foreign = links.rsvp_url(meeting_id=meeting.pk, person_id=stranger.pk, answer="declined")
    assert client.post(path_of(foreign)).status_code == 404
    opt_out_token = links.opt_out_token(person_id=guest.pk)  # right signature, wrong purpose
    assert client.get(f"/n/rsvp/{opt_out_token}/declined/").status_code == 404
    event_services.participant_remove(meeting=meeting, person=guest)
    assert client.post(path_of(good)).status_code == 404


def test_the_opt_out_link_stops_and_restarts_reminders(client, host):
    url = path_of(links.opt_out_url(person_id=host.pk))
    assert client.get(url).status_code == 200
    host.refresh_from_db()
    assert host.reminders_opt_out is False
    client.post(url, {"opt_out": "1"})
    host.refresh_from_db()
    assert host.reminders_opt_out is True
    client.post(url, {"opt_out": "0"})
    host.refresh_from_db()
    assert host.reminders_opt_out is False
    assert client.get("/n/reminders/not-a-token/").status_code == 404


def test_rsvp_pages_need_csrf(standalone, guest):
    from django.test import Client

    meeting = standalone()
    url = path_of(links.rsvp_url(meeting_id=meeting.pk, person_id=guest.pk, answer="accepted"))
    assert Client(enforce_csrf_checks=True).post(url).status_code == 403


def test_schedule_changes_only_nudge_the_dispatcher_after_commit(standalone, _no_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        standalone()
    assert _no_broker  # nudged
    from notifications.models import OutboxMessage

    assert not OutboxMessage.objects.exists()  # the receiver itself owes nothing
