"""End to end through the real parts: API → services → PostgreSQL → on-commit nudge → Redis →
Celery worker process → SMTP server → parsed mail, every calendar part validated like the feeds."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from events.models import Meeting
from tests.factories import PersonFactory
from tests.support.ical_checks import assert_valid_ical
from visits.models import Visit

from .conftest import needs_services, wait_for

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def calendar_of(received):
    for part in received.message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True), part.get_param("method")
    return None, None


def text_of(received) -> str:
    for part in received.message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def imip(sink, *, method: str, uid: str | None = None):
    """(recipient, validated icalendar VEVENT, message) for every received iMIP message with this METHOD.

    Each message is parsed and validated once (the SMTP server shares this process's GIL; re-validating
    everything on every poll would slow the server down).
    """
    found = []
    for received in sink.snapshot():
        if not hasattr(received, "_imip"):
            data, mime_method = calendar_of(received)
            event = assert_valid_ical(data, method=mime_method).walk("VEVENT")[0] if data is not None else None
            received._imip = (mime_method, event)
        mime_method, event = received._imip
        if event is None or mime_method != method:
            continue
        if uid is None or str(event["UID"]) == uid:
            found.append((received.rcpt_tos[0].lower(), event, received))
    return found


def test_confirming_moving_and_cancelling_through_the_api_mails_the_right_people(smtp_server, make_worker):
    worker = make_worker()
    worker.start()
    user = get_user_model().objects.create_user("coord", "coordinator@host.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    # The demo: a confirmed visit with its programme, and a pending request.
    call_command("load_demo_data", verbosity=0)
    demo = Visit.objects.get(status=Visit.Status.CONFIRMED)
    # Hosts get an invitation per meeting; the delegation (the demo's choice, the default) one programme mail.
    delegation = {p.email.lower() for p in demo.delegation.members.all()} | {demo.contact.email.lower()}
    expected = {
        (p.person.email.lower(), m.uid)
        for m in Meeting.objects.filter(programme_slot__visit=demo).prefetch_related("participations__person")
        for p in m.participations.all() if p.person.email.lower() not in delegation
    }
    wait_for(lambda: expected <= {(to, str(ev["UID"])) for to, ev, _ in imip(smtp_server, method="REQUEST")},
             what="invites for the demo programme")
    wait_for(lambda: {r.rcpt_tos[0].lower() for r in smtp_server.snapshot() if r.key.startswith("programme:")}
             == delegation, what="the demo programme to the delegation")
    assert not {to for to, _, _ in imip(smtp_server, method="REQUEST")} & delegation
    wait_for(lambda: f"visit:{demo.pk}:confirmed" in smtp_server.sent_keys(), what="the demo visit's confirmation")
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"

    # Confirm the pending request through the API, after giving it a programme meeting. Its delegation
    # gets an invitation per meeting (the per-visit choice), like hosts.
    pending = Visit.objects.get(status=Visit.Status.REQUESTED)
    Visit.objects.filter(pk=pending.pk).update(delegation_mail=Visit.DelegationMail.INVITES)
    host = PersonFactory(name="Integration Host", email="int.host@stemcell-centre.example.org")
    member = pending.delegation.members.exclude(pk=pending.contact_id).first()
    day = pending.preferred_windows.first().start
    start_iso = f"{day.isoformat()}T15:00:00+01:00"
    end_iso = f"{day.isoformat()}T16:00:00+01:00"
    created = api.post("/api/v1/meetings/", {
        "title": "Integration: GMP manufacturing", "starts_at": start_iso, "ends_at": end_iso,
        "timezone": "Europe/Berlin", "room": None, "location": "Board room", "visit": pending.pk,
        "participants": [{"person": host.pk, "role": "host"}, {"person": member.pk, "role": "guest"}],
    }, format="json")
    assert created.status_code == 201, created.content
    meeting = created.json()
    confirmed = api.post(f"/api/v1/visits/{pending.pk}/confirm/", {}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    people = {host.email.lower(), member.email.lower()}
    invites = wait_for(lambda: (found := imip(smtp_server, method="REQUEST", uid=meeting["uid"]))
                       and {to for to, _, _ in found} == people and found, what="invites after confirmation")
    assert all(int(ev["SEQUENCE"]) == meeting["sequence"] for _, ev, _ in invites)
    confirmation = wait_for(lambda: [r for r in smtp_server.snapshot() if r.key == f"visit:{pending.pk}:confirmed"],
                            what="the confirmation to the requester")
    assert confirmation[0].rcpt_tos == [pending.contact.email]
    assert "Integration: GMP manufacturing" in text_of(confirmation[0])
    assert "/calendars/visits/" in text_of(confirmation[0])

    # Move it: one update per person, same UID, higher SEQUENCE, and the text says what changed.
    moved = api.post(f"/api/v1/meetings/{meeting['id']}/reschedule/", {
        "starts_at": f"{day.isoformat()}T16:00:00+01:00", "ends_at": f"{day.isoformat()}T17:00:00+01:00",
    }, format="json")
    assert moved.status_code == 200, moved.content
    new_sequence = moved.json()["sequence"]
    assert new_sequence > meeting["sequence"]
    updates = wait_for(lambda: [x for x in imip(smtp_server, method="REQUEST", uid=meeting["uid"])
                                if int(x[1]["SEQUENCE"]) == new_sequence] or None, what="updates")
    wait_for(lambda: len([x for x in imip(smtp_server, method="REQUEST", uid=meeting["uid"])
                          if int(x[1]["SEQUENCE"]) == new_sequence]) == 2, what="both updates")
    updates = [x for x in imip(smtp_server, method="REQUEST", uid=meeting["uid"]) if int(x[1]["SEQUENCE"]) == new_sequence]
    assert {to for to, _, _ in updates} == people
    assert all("moved from 15:00–16:00 to 16:00–17:00" in text_of(r) for _, _, r in updates)

    # Cancel it: METHOD:CANCEL with STATUS:CANCELLED to both, same UID.
    assert api.post(f"/api/v1/meetings/{meeting['id']}/cancel/", {}, format="json").status_code == 200
    cancels = wait_for(lambda: len(found := imip(smtp_server, method="CANCEL", uid=meeting["uid"])) == 2 and found,
                       what="cancellations")
    assert {to for to, _, _ in cancels} == people
    assert all(str(ev["STATUS"]) == "CANCELLED" for _, ev, _ in cancels)
    for received in smtp_server.snapshot():
        assert received.message.get_content_type() in ("multipart/mixed", "multipart/alternative")
    keys = smtp_server.sent_keys()
    assert len(keys) == len(set(keys)), "a message was sent twice"
    worker.stop()
