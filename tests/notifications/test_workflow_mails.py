"""Requesters and coordinators hear of each visit transition once (answers to invitations: test_answer_summary.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calendars.links import visit_feed_url
from events import services as event_services
from notifications.models import Kind, OutboxMessage
from visits import booking
from visits import services as visit_services
from visits.links import visit_status_url

from .conftest import subject, text_part, to_addr

pytestmark = pytest.mark.django_db


def by_kind(sent):
    out = {}
    for m in sent:
        key = m["X-Visitdesk-Key"]
        out.setdefault(key.split(":")[2] if key.startswith("visit:") else key.split(":")[0], []).append(m)
    return out


def test_a_request_is_acknowledged_with_the_status_link_and_coordinators_are_told(requested_visit, coordinator, send):
    visit = requested_visit()
    sent = by_kind(send())
    ack = sent["ack"]
    assert [to_addr(m) for m in ack] == ["anna@lsn.example.org"]
    assert subject(ack[0]) == f"We received your visit request {visit.reference}"
    assert visit_status_url(visit) in text_part(ack[0])
    news = sent["new-request"]
    assert [to_addr(m) for m in news] == [coordinator.email]
    assert f"/admin/visits/visit/{visit.pk}/change/" in text_part(news[0])
    assert send() == []


def test_german_requesters_get_german_mails(requested_visit, send):
    visit = requested_visit(language="de")
    ack = by_kind(send())["ack"][0]
    assert subject(ack) == f"Ihre Besuchsanfrage {visit.reference} ist eingegangen"
    html = next(p for p in ack.walk() if p.get_content_type() == "text/html").get_content()
    assert '<html lang="de">' in html


def test_confirmation_lists_the_programme_and_the_feed_links(requested_visit, host, send):
    visit = requested_visit()
    start = timezone.now() + timedelta(days=20)
    booking.meeting_create(
        visit=visit, title="Stem cell lab tour", starts_at=start, ends_at=start + timedelta(hours=1),
        participants=[event_services.ParticipantSpec(host, "host")],
    )
    send()
    visit_services.visit_confirm(visit=visit)
    confirmed = by_kind(send())["confirmed"]
    assert [to_addr(m) for m in confirmed] == ["anna@lsn.example.org"]
    body = text_part(confirmed[0])
    feed = visit_feed_url(visit)
    assert "Stem cell lab tour" in body and feed in body and "webcal://" + feed.split("://")[1] in body


def test_the_confirmations_subscribe_links_are_clickable_and_typed_links_are_not(requested_visit, send):
    """Google Calendar and Outlook links are made by the product: whole in the text part (no zero-width
    space for a mail client's auto-linker to trip on) and ``<a href>`` in the HTML part. A link the
    requester typed (here into the delegation's name) is still defused in both."""
    from calendars.links import feed_links
    from visits.models import Delegation

    visit = requested_visit()
    Delegation.objects.filter(pk=visit.delegation_id).update(name="LSN see www.phish.example/login")
    send()
    visit_services.visit_confirm(visit=visit)
    confirmed = by_kind(send())["confirmed"][0]
    text = text_part(confirmed)
    html = next(p for p in confirmed.walk() if p.get_content_type() == "text/html").get_content()
    links = feed_links(visit_feed_url(visit))
    for name in ("https", "webcal", "google", "outlook"):
        assert links[name] in text, f"{name} link is broken up in the text part"
        assert f'href="{links[name].replace("&", "&amp;")}"' in html, f"{name} link is not a link in the HTML part"
    assert "\u200b" not in "".join(line for line in text.splitlines() if "calendar.google.com" in line or "outlook" in line)
    assert "www.phish.example" not in text and "www.\u200bphish.\u200bexample" in text
    assert "phish.example/login\"" not in html and 'href="http://www.phish' not in html


def test_decline_and_cancel_each_mail_the_requester_once(requested_visit, send):
    declined = requested_visit()
    cancelled = requested_visit()
    send()
    visit_services.visit_decline(visit=declined, reason="No lab time in that week.")
    visit_services.visit_cancel(visit=cancelled)
    sent = by_kind(send())
    assert "No lab time in that week." in text_part(sent["declined"][0])
    assert subject(sent["cancelled"][0]) == f"Your visit {cancelled.reference} is cancelled"
    assert send() == []


def test_cancelling_a_confirmed_visit_cancels_every_invite_and_mails_the_requester(requested_visit, host, send):
    visit = requested_visit()
    start = timezone.now() + timedelta(days=20)
    meeting = booking.meeting_create(
        visit=visit, title="Lab tour", starts_at=start, ends_at=start + timedelta(hours=1),
        participants=[event_services.ParticipantSpec(host, "host")],
    )
    visit_services.visit_confirm(visit=visit)
    send()
    visit_services.visit_cancel(visit=visit, reason="Travel ban")
    sent = send()
    kinds = sorted(m["X-Visitdesk-Key"].split(":")[0] + ":" + m["X-Visitdesk-Key"].split(":")[3 if m["X-Visitdesk-Key"].startswith("imip") else 2] for m in sent)
    assert kinds == ["imip:CANCEL", "visit:cancelled"]
    assert not OutboxMessage.objects.filter(meeting=meeting, kind=Kind.REMINDER, state="pending").exists()
