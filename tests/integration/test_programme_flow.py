"""The delegation's programme mail through the real parts: proposal accepted in the API on PostgreSQL →
on-commit nudge over Redis → Celery worker processes (two, each with two children, nudged many times
at once) → SMTP server → parsed mail with the PDF and one METHOD:PUBLISH .ics.

Each delegation member and the requester receive exactly one mail on accept, whose .ics passes the
strict validators and gives the API's instants in icalendar, recurring-ical-events and libical; a
change is one update per member saying what changed; a cancelled meeting leaves their calendars.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
from django.contrib.auth import get_user_model
from pypdf import PdfReader
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from directory.models import Person, Topic
from tests.factories import RoomFactory, VenueFactory
from tests.support import ical_checks
from tests.support.dates import working_day_from
from tests.support.ical_checks import assert_valid_ical
from visits.models import Visit

from .conftest import enqueue_dispatch, needs_services, wait_for

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def programme_mails(sink) -> list:
    return [r for r in sink.snapshot() if r.key.startswith("programme:")]


def parts(received) -> dict[str, tuple[str, bytes, dict]]:
    out = {}
    for part in received.message.walk():
        if part.get_content_disposition() == "attachment":
            out[part.get_content_type()] = (part.get_filename(), part.get_payload(decode=True), dict(part.get_params()))
    return out


def text_of(received) -> str:
    return next(p.get_content() for p in received.message.walk() if p.get_content_type() == "text/plain")


def instants_by_consumer(data: bytes) -> dict[str, dict[str, tuple[datetime, datetime]]]:
    cal = assert_valid_ical(data, method="PUBLISH")
    found = {
        "icalendar": {str(e["UID"]): (e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC))
                      for e in cal.walk("VEVENT")},
        "recurring-ical-events": {
            str(e["UID"]): (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
            for e in recurring_ical_events.of(cal).between(datetime(2020, 1, 1, tzinfo=UTC),
                                                           datetime(2040, 1, 1, tzinfo=UTC))},
    }
    if ical_checks.ICalGLib is not None:
        lib = ical_checks.ICalGLib
        root = lib.Parser.parse_string(data.decode())
        seen = {}
        event = root.get_first_component(lib.ComponentKind.VEVENT_COMPONENT)
        while event is not None:
            times = []
            for value in (event.get_dtstart(), event.get_dtend()):
                zone = value.get_timezone() or lib.Timezone.get_utc_timezone()
                times.append(datetime.fromtimestamp(value.as_timet_with_zone(zone), UTC))
            seen[event.get_uid()] = tuple(times)
            event = root.get_next_component(lib.ComponentKind.VEVENT_COMPONENT)
        found["libical"] = seen
    return found


def test_accept_sends_one_programme_mail_per_member_then_one_update_per_change(smtp_server, make_worker):
    workers = [make_worker(), make_worker()]
    for worker in workers:
        worker.start()
    user = get_user_model().objects.create_user("coord", "coordinator@centre.example.org", "x", is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    Person.objects.create(name="Carla Coordinator", email="coordinator@centre.example.org", user=user,
                          phone="+49 40 123 456")
    cell = Topic.objects.create(name="Cell therapeutics", slug="cell-therapeutics", meeting_minutes=60)
    venue = VenueFactory(name="Stem cell centre", directions="U-Bahn U1 to Klosterstern, then five minutes' walk.")
    RoomFactory(venue=venue, name="Seminar room", capacity=12)
    ada = Person.objects.create(name="Dr. Ada Lind", email="ada@centre.example.org", job_title="Head of Cell Therapy")
    ada.expertise.set([cell])

    start = working_day_from(30)  # not a weekend or a holiday at the venue, whatever today is
    requested = APIClient().post("/api/v1/visit-requests/", {
        "organisation": {"name": "Life Science Nord", "country": "DE", "website": "https://example.org"},
        "contact": {"name": "Dr. Hinrich Habeck", "email": "habeck@lsn.example.org", "language": "de"},
        "delegation": {"name": "LSN delegation", "size": 3,
                       "members": [{"name": "Anna Berg", "email": "berg@lsn.example.org", "job_title": "CEO"},
                                   {"name": "Jens Ohm", "email": "ohm@lsn.example.org", "job_title": "CTO"}]},
        "preferred_windows": [{"start": start.isoformat(), "end": start.isoformat()}],
        "topics": ["cell-therapeutics"],
    }, format="json")
    assert requested.status_code == 201, requested.content
    visit = Visit.objects.get()
    Visit.objects.filter(pk=visit.pk).update(venue=venue)
    assert api.post(f"/api/v1/visits/{visit.pk}/confirm/", {}, format="json").status_code == 200
    proposal = api.post(f"/api/v1/visits/{visit.pk}/proposals/", {"time_limit_seconds": 5}, format="json").json()
    assert proposal["unplaced"] == [], proposal
    accepted = api.post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.content
    meeting_ids = [i["meeting"] for i in accepted.json()["items"]]
    enqueue_dispatch(times=6)  # beat and nudges at once, to both workers: still one mail each

    delegation = {"habeck@lsn.example.org", "berg@lsn.example.org", "ohm@lsn.example.org"}
    wait_for(lambda: {r.rcpt_tos[0] for r in programme_mails(smtp_server)} == delegation, timeout=120,
             what="the programme mail to each member and the requester")
    truth = {}
    for meeting_id in meeting_ids:
        body = api.get(f"/api/v1/meetings/{meeting_id}/").json()
        truth[body["uid"]] = (datetime.fromisoformat(body["starts_at"]), datetime.fromisoformat(body["ends_at"]))
    enqueue_dispatch(times=3)
    keys = [r.key for r in smtp_server.snapshot()]
    assert len(keys) == len(set(keys)), "a message was sent twice"
    first = programme_mails(smtp_server)
    assert sorted(r.rcpt_tos[0] for r in first) == sorted(delegation), "exactly one mail each"
    assert not [r for r in smtp_server.snapshot() if r.key.startswith("imip:") and r.rcpt_tos[0] in delegation]
    for received in first:
        files = parts(received)
        pdf_name, pdf, _ = files["application/pdf"]
        assert pdf_name.endswith("-de.pdf") or pdf_name.endswith("-en.pdf")
        pdf_text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Dr. Ada Lind" in " ".join(pdf_text.split())
        _name, ics, params = files["text/calendar"]
        assert params.get("method") == "PUBLISH"
        for consumer, seen in instants_by_consumer(ics).items():
            assert seen == truth, f"{consumer} reads other instants than the API"
    german = next(r for r in first if r.rcpt_tos[0] == "habeck@lsn.example.org")
    assert str(german.message["Subject"]).startswith("Ihr Programm: LSN delegation")

    # One change: the wrap-up moved to the end of the day. One update per member,
    # saying so, with the new SEQUENCE.
    moved_id = next(i["meeting"] for i in accepted.json()["items"] if i["key"] == "wrap-up")
    before = api.get(f"/api/v1/meetings/{moved_id}/").json()
    length = datetime.fromisoformat(before["ends_at"]) - datetime.fromisoformat(before["starts_at"])
    new_start = max(end for _start, end in truth.values()) + timedelta(minutes=30)  # after everything else
    new_end = new_start + length
    moved = api.post(f"/api/v1/meetings/{moved_id}/reschedule/", {
        "starts_at": new_start.isoformat(), "ends_at": new_end.isoformat(), "override_availability": True,
    }, format="json")
    assert moved.status_code == 200, moved.content
    truth[moved.json()["uid"]] = (new_start, new_end)
    enqueue_dispatch(times=4)
    wait_for(lambda: len(programme_mails(smtp_server)) == 2 * len(delegation), timeout=90, what="one update each")
    updates = programme_mails(smtp_server)[len(delegation):]
    assert sorted(r.rcpt_tos[0] for r in updates) == sorted(delegation)
    member = next(r for r in updates if r.rcpt_tos[0] == "berg@lsn.example.org")  # German, like the request
    assert "Geändert:" in text_of(member) and "verschoben von" in text_of(member)
    for received in updates:
        ics = parts(received)["text/calendar"][1]
        for consumer, seen in instants_by_consumer(ics).items():
            assert seen == truth, f"{consumer}: the update does not give the API's instants"
        event = next(e for e in icalendar.Calendar.from_ical(ics).walk("VEVENT") if str(e["UID"]) == moved.json()["uid"])
        assert int(event["SEQUENCE"]) == moved.json()["sequence"]

    # A cancellation: one more update each; the .ics says STATUS:CANCELLED for that UID.
    cancelled_id = next(i["meeting"] for i in accepted.json()["items"] if i["key"] == "topic-cell-therapeutics")
    cancelled = api.post(f"/api/v1/meetings/{cancelled_id}/cancel/", {}, format="json").json()
    enqueue_dispatch(times=2)
    wait_for(lambda: len(programme_mails(smtp_server)) == 3 * len(delegation), timeout=90, what="the cancellation")
    for received in programme_mails(smtp_server)[2 * len(delegation):]:
        cal = assert_valid_ical(parts(received)["text/calendar"][1], method="PUBLISH")
        event = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == cancelled["uid"])
        assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == cancelled["sequence"]
    keys = [r.key for r in smtp_server.snapshot()]
    assert len(keys) == len(set(keys)), "a message was sent twice"
    for worker in workers:
        worker.stop()
