"""Every artefact, read by consumers nobody here wrote, gives exactly the instants the API reports.

Meetings sit on both sides and *inside* both DST changes of Europe/Berlin (the non-existent spring
hour, the repeated autumn hour, once in each of its two occurrences), in a second and a third zone,
and each kind of artefact is produced through the real code path:

* the public, person and visit feeds and the signed single-meeting file over HTTP;
* REQUEST, update (REQUEST with a higher SEQUENCE) and CANCEL as sent by the dispatcher.

Each is read by ``icalendar`` and by ``recurring-ical-events`` (and by libical through the
VTIMEZONE it carries, when installed), and every VEVENT's start and end must equal the API's
``starts_at`` / ``ends_at`` to the second. Finally every VEVENT goes through a real CalDAV server
(Radicale, started on a free port) and must come back with the same instants.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
import pytest
import recurring_ical_events
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from calendars.links import meeting_link_for_person, person_feed_url, public_feed_url, visit_feed_url
from events.services import ParticipantSpec, meeting_cancel, meeting_create, meeting_reschedule
from notifications import dispatch
from tests.factories import EventFactory, PersonFactory, UserFactory, VisitFactory
from tests.support import ical_checks
from tests.support.ical_checks import assert_valid_ical
from visits import booking
from visits.models import Visit
from visits.services import visit_confirm, visit_programme_send

pytestmark = pytest.mark.django_db

#: (title, zone, start, end) — the comments say why each one is here.
CASES = [
    # Spring, Berlin: 02:00–03:00 does not exist; a meeting across the gap lasts one real hour.
    ("Berlin across the spring gap", "Europe/Berlin", "2027-03-28T01:30:00+01:00", "2027-03-28T03:30:00+02:00"),
    # Autumn, Berlin: ends in the *second* 02:30 — a two-hour talk, not one.
    ("Berlin into the repeated hour", "Europe/Berlin", "2027-10-31T00:30:00+02:00", "2027-10-31T02:30:00+01:00"),
    # From the first 02:30 to the second: one hour, not zero minutes.
    ("Berlin first to second 02:30", "Europe/Berlin", "2027-10-31T02:30:00+02:00", "2027-10-31T02:30:00+01:00"),
    ("Berlin after the change", "Europe/Berlin", "2027-10-31T03:00:00+01:00", "2027-10-31T04:00:00+01:00"),
    ("Berlin summer", "Europe/Berlin", "2027-06-01T10:00:00+02:00", "2027-06-01T11:00:00+02:00"),
    ("Berlin winter", "Europe/Berlin", "2027-01-12T10:00:00+01:00", "2027-01-12T11:30:00+01:00"),
    ("Boston spring", "America/New_York", "2027-03-14T01:30:00-05:00", "2027-03-14T03:30:00-04:00"),
    ("Boston repeated 01:30", "America/New_York", "2027-11-07T01:30:00-04:00", "2027-11-07T01:30:00-05:00"),
    ("Sydney autumn", "Australia/Sydney", "2027-04-04T02:30:00+11:00", "2027-04-04T02:30:00+10:00"),
]
WINDOW = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))


@pytest.fixture
def scene(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0
    # One guest per meeting: several cases overlap in time (both 02:30s), and a person cannot be in
    # two meetings at once.
    guests = [PersonFactory(name=f"Guest {i}", email=f"guest{i}@lsn.example.org") for i in range(len(CASES))]
    # Per-meeting invitations for the delegation (the visit's choice): this test follows each iTIP
    # message; the programme mail's one PUBLISH .ics is checked in the test after it.
    visit = VisitFactory(delegation_mail=Visit.DelegationMail.INVITES)
    visit.delegation.members.add(*guests)
    visit = visit_confirm(visit=visit, starts_on=datetime(2027, 1, 12).date(), ends_on=datetime(2027, 11, 7).date())
    public = EventFactory(title="Cell therapy info day", is_public=True)
    meetings = []
    for index, (title, zone, start, end) in enumerate(CASES):
        fields = dict(title=title, timezone=zone, starts_at=datetime.fromisoformat(start),
                      ends_at=datetime.fromisoformat(end), location="Hall 1",
                      participants=[ParticipantSpec(guests[index], "guest")])
        if index % 2:
            meetings.append(meeting_create(event=public, **fields))
        else:
            meetings.append(booking.meeting_create(visit=visit, **fields))
    api = APIClient()
    api.force_authenticate(UserFactory(username=f"coord-{uuid.uuid4().hex[:6]}", is_staff=True, is_superuser=True))
    return guests, visit, meetings, api


def api_instants(api, meeting) -> tuple[datetime, datetime]:
    body = api.get(f"/api/v1/meetings/{meeting.pk}/").json()
    return datetime.fromisoformat(body["starts_at"]), datetime.fromisoformat(body["ends_at"])


def readings(data: bytes) -> dict[str, list[tuple[datetime, datetime]]]:
    """UID → [(start, end)] as each independent consumer reads the calendar (all in UTC)."""
    cal = assert_valid_ical(data, method=icalendar.Calendar.from_ical(data).get("METHOD") and
                            str(icalendar.Calendar.from_ical(data)["METHOD"]))
    by_icalendar = {str(e["UID"]): (e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC))
                    for e in cal.walk("VEVENT")}
    by_recurring = {str(e["UID"]): (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
                    for e in recurring_ical_events.of(cal).between(*WINDOW)}
    found = {"icalendar": by_icalendar, "recurring-ical-events": by_recurring}
    if ical_checks.ICalGLib is not None:
        found["libical"] = _libical(data)
    return found


def _libical(data: bytes) -> dict[str, tuple[datetime, datetime]]:
    """libical resolves TZID through the VTIMEZONE in the object itself, not through zoneinfo."""
    lib = ical_checks.ICalGLib
    root = lib.Parser.parse_string(data.decode())
    result = {}
    event = root.get_first_component(lib.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        times = []
        for value in (event.get_dtstart(), event.get_dtend()):
            zone = value.get_timezone() or lib.Timezone.get_utc_timezone()
            times.append(datetime.fromtimestamp(value.as_timet_with_zone(zone), UTC))
        result[event.get_uid()] = tuple(times)
        event = root.get_next_component(lib.ComponentKind.VEVENT_COMPONENT)
    return result


def assert_instants(data: bytes, expected: dict[str, tuple[datetime, datetime]], *, what: str) -> None:
    for consumer, seen in readings(data).items():
        assert seen == expected, f"{what}: {consumer} reads other instants than the API:\n{seen}\n!=\n{expected}"


def test_every_artefact_gives_the_apis_instants_in_every_consumer(client, scene):
    guests, visit, meetings, api = scene
    truth = {m.uid: api_instants(api, m) for m in meetings}
    # The API itself: the cases above, as instants.
    assert truth[meetings[1].uid][1] - truth[meetings[1].uid][0] == timedelta(hours=3)
    assert truth[meetings[2].uid][1] - truth[meetings[2].uid][0] == timedelta(hours=1)

    def fetch(url: str) -> bytes:
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200, (url, response.status_code)
        return response.content

    public_uids = {m.uid for i, m in enumerate(meetings) if i % 2}
    programme_uids = {m.uid for i, m in enumerate(meetings) if not i % 2}
    assert_instants(fetch(public_feed_url()), {u: truth[u] for u in public_uids}, what="public feed")
    assert_instants(fetch(visit_feed_url(visit)), {u: truth[u] for u in programme_uids}, what="visit feed")
    for meeting, guest in zip(meetings, guests, strict=True):
        assert_instants(fetch(person_feed_url(guest)), {meeting.uid: truth[meeting.uid]}, what=f"person feed {guest}")
        assert_instants(fetch(meeting_link_for_person(meeting.pk, guest)), {meeting.uid: truth[meeting.uid]},
                        what=f"single-meeting file {meeting.title}")

    # Invites (REQUEST), one update and one cancellation, as the dispatcher sends them; each
    # message is checked against the API as it was when the message was sent.
    kinds = {"REQUEST": 0, "CANCEL": 0}
    sequences: dict[str, list[int]] = {}

    def send_and_check() -> None:
        before = len(mail.outbox)
        dispatch.dispatch_due()
        for message in mail.outbox[before:]:
            calendar = getattr(message, "calendar", None)  # notifications.compose.CalendarMail
            if calendar is None:
                continue
            parsed = icalendar.Calendar.from_ical(calendar)
            (event,) = parsed.walk("VEVENT")
            uid = str(event["UID"])
            kinds[str(parsed["METHOD"])] += 1
            sequences.setdefault(uid, []).append(int(event["SEQUENCE"]))
            assert_instants(calendar, {uid: truth[uid]},
                            what=f"{parsed['METHOD']} #{event['SEQUENCE']} {event['SUMMARY']}")

    send_and_check()
    moved = meetings[4]
    # Into the repeated hour, after "Berlin first to second 02:30" ends: the guest is a delegation
    # member, who cannot be in two meetings of the programme at once.
    meeting_reschedule(meeting=moved, starts_at=datetime.fromisoformat("2027-10-31T02:35:00+01:00"),
                       ends_at=datetime.fromisoformat("2027-10-31T02:55:00+01:00"))
    truth[moved.uid] = api_instants(api, moved)
    send_and_check()
    meeting_cancel(meeting=meetings[5])
    send_and_check()
    assert kinds == {"REQUEST": len(meetings) + 1, "CANCEL": 1}
    assert sorted(sequences[moved.uid]) == [0, 1], "the update keeps the UID and raises SEQUENCE"


def programme_calendars(messages) -> dict[str, bytes]:
    """Recipient address → the METHOD:PUBLISH .ics attached to their programme mail."""
    found = {}
    for message in messages:
        parsed = email.message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=email.policy.default)
        for part in parsed.walk():
            if part.get_content_type() == "text/calendar" and part.get_param("method") == "PUBLISH":
                assert part.get_content_disposition() == "attachment"
                found[email.utils.parseaddr(parsed["To"])[1]] = part.get_payload(decode=True)
    return found


def test_the_programme_mails_one_calendar_gives_the_apis_instants_in_every_consumer(client, scene, settings):
    """The delegation's programme mail: one METHOD:PUBLISH .ics per recipient, holding their meetings with
    the meetings' own UIDs and SEQUENCEs, read by every consumer as the API's instants — first, after a
    move into the repeated autumn hour, and with a cancelled meeting as STATUS:CANCELLED."""
    _guests, _invites_visit, _meetings, api = scene
    cases = CASES[::2]  # the programme's share of the cases (the others are a public event's above)
    guests = [PersonFactory(name=f"Member {i}", email=f"member{i}@lsn.example.org") for i in range(len(cases))]
    visit = VisitFactory()  # the default: the delegation hears by programme mail
    visit.delegation.members.add(*guests)
    visit = visit_confirm(visit=visit, starts_on=datetime(2027, 1, 12).date(), ends_on=datetime(2027, 11, 7).date())
    meetings = [
        booking.meeting_create(visit=visit, title=f"Programme: {title}", timezone=zone,
                               starts_at=datetime.fromisoformat(start), ends_at=datetime.fromisoformat(end),
                               location="Hall 2", participants=[ParticipantSpec(guests[index], "guest")])
        for index, (title, zone, start, end) in enumerate(cases)
    ]
    visit_programme_send(visit=visit)
    truth = {m.uid: api_instants(api, m) for m in meetings}
    requester = visit.contact.email  # in none of the meetings: the whole programme

    def send() -> dict[str, bytes]:
        before = len(mail.outbox)
        dispatch.dispatch_due()
        return programme_calendars(m for m in mail.outbox[before:] if m.to and "programme" in m.extra_headers.get(
            "X-Visitdesk-Key", ""))

    def check(calendar: bytes, uids: set[str], what: str) -> icalendar.Calendar:
        cal = assert_valid_ical(calendar, method="PUBLISH")
        assert {str(e["UID"]) for e in cal.walk("VEVENT")} == uids, what
        assert_instants(calendar, {u: truth[u] for u in uids}, what=what)
        return cal

    first = send()
    assert set(first) == {requester} | {g.email for g in guests}
    check(first[requester], set(truth), "the requester's whole programme")
    for meeting, guest in zip(meetings, guests, strict=True):
        cal = check(first[guest.email], {meeting.uid}, f"programme of {guest.name}")
        assert int(cal.walk("VEVENT")[0]["SEQUENCE"]) == meeting.sequence == 0

    moved = meetings[2]  # "Berlin first to second 02:30" → into the second 02:35
    booking.meeting_reschedule(meeting=moved, starts_at=datetime.fromisoformat("2027-10-31T02:35:00+01:00"),
                               ends_at=datetime.fromisoformat("2027-10-31T02:55:00+01:00"))
    truth[moved.uid] = api_instants(api, moved)
    update = send()
    assert set(update) == {requester, guests[2].email}, "only those whose programme changed"
    cal = check(update[requester], set(truth), "the requester's update")
    assert {str(e["UID"]): int(e["SEQUENCE"]) for e in cal.walk("VEVENT")}[moved.uid] == 1

    cancelled = meetings[1]
    booking.meeting_cancel(meeting=cancelled)
    update = send()
    assert set(update) == {requester, guests[1].email}
    for address in update:
        uids = set(truth) if address == requester else {cancelled.uid}
        cal = check(update[address], uids, f"cancellation for {address}")
        event = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == cancelled.uid)
        assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1


# --- a real CalDAV server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def radicale(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}", "--auth-type", "none",
         "--rights-type", "owner_only", "--storage-filesystem-folder", str(tmp_path / "collections"),
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("radicale did not start: " + (proc.stderr.read() or b"").decode()[-2000:]) from None
            time.sleep(0.1)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def _dav(method: str, url: str, body: bytes | None = None, **headers) -> tuple[int, bytes]:
    headers.setdefault("Authorization", "Basic " + base64.b64encode(b"visitdesk:x").decode())
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # a local test server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _split(data: bytes) -> list[bytes]:
    """One calendar object per VEVENT (CalDAV stores one UID per resource), with its VTIMEZONEs."""
    cal = icalendar.Calendar.from_ical(data)
    objects = []
    for event in cal.walk("VEVENT"):
        one = icalendar.Calendar()
        for key in ("PRODID", "VERSION"):
            one.add(key.lower(), cal[key])
        for vtz in cal.walk("VTIMEZONE"):
            one.add_component(vtz)
        one.add_component(event)
        objects.append(one.to_ical())
    return objects


def test_a_caldav_server_stores_every_vevent_and_gives_back_the_same_instants(client, scene, radicale):
    _guests, visit, meetings, api = scene
    truth = {m.uid: api_instants(api, m) for m in meetings}
    feeds = [client.get(urlsplit(url).path).content for url in (visit_feed_url(visit), public_feed_url())]
    collection = f"{radicale}/visitdesk/programme/"
    status, _ = _dav("MKCOL", f"{radicale}/visitdesk/")
    assert status in (201, 405), status
    status, body = _dav("MKCALENDAR", collection)
    assert status == 201, body[:300]
    for obj in (obj for feed in feeds for obj in _split(feed)):
        uid = str(icalendar.Calendar.from_ical(obj).walk("VEVENT")[0]["UID"])
        status, body = _dav("PUT", f"{collection}{uuid.uuid5(uuid.NAMESPACE_URL, uid)}.ics", obj,
                            **{"Content-Type": "text/calendar; charset=utf-8"})
        assert status == 201, f"the server refused {uid}: {body[:500]!r}"
    # Read back the whole collection as one calendar (Radicale answers GET on a collection with
    # every stored object merged) and check the instants with the same independent readers.
    status, stored = _dav("GET", collection)
    assert status == 200
    cal = icalendar.Calendar.from_ical(stored)
    assert {str(e["UID"]) for e in cal.walk("VEVENT")} == set(truth)
    back = {str(e["UID"]): (e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC))
            for e in cal.walk("VEVENT")}
    assert back == truth
    again = {str(e["UID"]): (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC))
             for e in recurring_ical_events.of(cal).between(*WINDOW)}
    assert again == truth
    # The server kept the VTIMEZONEs it was given: they still put each onset at the real instant.
    ical_checks.check_vtimezones(cal)


def test_the_api_and_timezone_now_agree_on_the_cases():
    """Guard for the case list itself: every case is a real, positive duration."""
    for _title, _zone, start, end in CASES:
        assert datetime.fromisoformat(end) > datetime.fromisoformat(start)
    assert timezone.now() < datetime.fromisoformat(CASES[0][2]), "the cases must stay in the future"
