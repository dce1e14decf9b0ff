"""events.ical: what one meeting and one calendar look like to Outlook, Gmail, Apple and Thunderbird."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import icalendar
import pytest
import time_machine
from django.conf import settings

from calendars import ical
from calendars.links import meeting_link_for_person
from calendars.snapshot import attendee_data, meeting_data, meetings_data
from events.models import Meeting, Participation
from events.selectors import meeting_list
from events.services import meeting_cancel, participant_rsvp
from tests.factories import PersonFactory
from tests.support.ical_checks import assert_valid_ical

from .conftest import BERLIN, NEW_YORK, at

pytestmark = pytest.mark.django_db


def unescape_text(raw: str) -> str:
    """RFC 5545 §3.3.11 TEXT unescaping, for properties icalendar leaves raw (NAME, X-WR-…)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)


def _loaded(meeting: Meeting) -> Meeting:
    return meeting_list().get(pk=meeting.pk)


def _only_event(cal: icalendar.Calendar) -> icalendar.Event:
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def test_private_vevent_carries_everything(rich_meeting):
    meeting, chair, _guest = rich_meeting
    participant_rsvp(participation=meeting.participations.get(person=chair), answer="accepted")
    meeting = _loaded(meeting)

    link = meeting_link_for_person(meeting.pk, chair)
    data = ical.render_feed(meetings_data([meeting]), name="Dr. Jana Weber", link=lambda meeting_id: link)
    cal = assert_valid_ical(data, expect_tzids={"Europe/Berlin"})
    event = _only_event(cal)

    assert str(event["UID"]) == meeting.uid and meeting.uid.endswith("@" + settings.SITE_DOMAIN)
    assert event["SEQUENCE"] == meeting.sequence
    assert event.decoded("DTSTAMP") == meeting.updated_at.astimezone(UTC).replace(microsecond=0)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == meeting.starts_at
    assert event.decoded("DTEND") == meeting.ends_at
    assert str(event["SUMMARY"]) == "Cross-border R&D cooperation"
    description = str(event["DESCRIPTION"])
    assert "Welcome and introductions." in description
    assert "1. Stem cell platform (Stem cell R&D, Dr. Jana Weber, 30 min)" in description
    assert "Lab tour after" in description and "2. Joint Horizon proposal" in description
    assert "https://meet.example.org/visit-42" in description
    assert str(event["CONFERENCE"]) == "https://meet.example.org/visit-42"
    assert str(event["LOCATION"]).startswith("Seminar room 2, ")
    assert "Martinistraße 52, 20246 Hamburg, DE" in str(event["LOCATION"])
    assert str(event["URL"]) == link  # the reader's own link, which needs no account
    assert event.categories == ["EU funding: Horizon 2020", "Stem cell R&D"]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]).startswith("mailto:")

    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:jana.weber@stemcell.example.org"]["ROLE"] == "CHAIR"
    assert attendees["mailto:jana.weber@stemcell.example.org"]["PARTSTAT"] == "ACCEPTED"
    assert attendees["mailto:lars@lifescience-nord.example.org"]["ROLE"] == "REQ-PARTICIPANT"
    assert attendees["mailto:lars@lifescience-nord.example.org"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:jana.weber@stemcell.example.org"]["CN"] == "Dr. Jana Weber"


def test_feed_calendar_properties_and_no_random_parts(rich_meeting):
    meeting = _loaded(rich_meeting[0])
    data = ical.render_feed(meetings_data([meeting]), name="Visits", description="All visits")
    cal = assert_valid_ical(data)
    assert str(cal["NAME"]) == "Visits" and str(cal["X-WR-CALNAME"]) == "Visits"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in data
    assert "UID" not in cal and "METHOD" not in cal
    assert data == ical.render_feed(meetings_data([_loaded(meeting)]), name="Visits", description="All visits")


def test_public_audience_has_no_people(rich_meeting):
    meeting = _loaded(rich_meeting[0])
    data = ical.render_feed(meetings_data([meeting]), name="Public", audience="public")
    event = _only_event(assert_valid_ical(data))
    assert "ATTENDEE" not in event and "ORGANIZER" not in event
    assert b"mailto:" not in data
    assert b"jana.weber@" not in data and b"lars@" not in data


def test_cancelled_meeting_says_so(make_meeting):
    meeting = meeting_cancel(meeting=make_meeting(title="Lab tour"))
    event = _only_event(assert_valid_ical(ical.render_feed(meetings_data([_loaded(meeting)]), name="x")))
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


def test_dst_both_sides_of_the_berlin_changes(make_meeting):
    # 2026-10-25 03:00 CEST -> 02:00 CET; 2027-03-28 02:00 CET -> 03:00 CEST.
    instants = [
        at(BERLIN, 2026, 10, 24, 10, 0), at(BERLIN, 2026, 10, 26, 10, 0),
        at(BERLIN, 2027, 3, 27, 10, 0), at(BERLIN, 2027, 3, 29, 10, 0),
    ]
    meetings = [make_meeting(title=f"Meeting {i}", starts_at=start, timezone="Europe/Berlin")
                for i, start in enumerate(instants)]
    data = ical.render_feed(meetings_data([_loaded(m) for m in meetings]), name="DST")
    cal = assert_valid_ical(data, expect_tzids={"Europe/Berlin"})

    # Wall clock stays 10:00 local on every side of the change; the UTC instants differ by the offset.
    for line in (b"DTSTART;TZID=Europe/Berlin:20261024T100000", b"DTSTART;TZID=Europe/Berlin:20261026T100000",
                 b"DTSTART;TZID=Europe/Berlin:20270327T100000", b"DTSTART;TZID=Europe/Berlin:20270329T100000"):
        assert line in data
    utc_starts = sorted(e.decoded("DTSTART").astimezone(UTC) for e in cal.walk("VEVENT"))
    assert utc_starts == [
        datetime(2026, 10, 24, 8, tzinfo=UTC), datetime(2026, 10, 26, 9, tzinfo=UTC),
        datetime(2027, 3, 27, 9, tzinfo=UTC), datetime(2027, 3, 29, 8, tzinfo=UTC),
    ]
    # The VTIMEZONE itself (not only Python's zoneinfo) knows both transitions: resolve through it.
    from ical.calendar_stream import IcsCalendarStream

    parsed = IcsCalendarStream.calendar_from_ics(data.decode())
    assert sorted(e.dtstart.astimezone(UTC) for e in parsed.events) == utc_starts
    vtz = cal.walk("VTIMEZONE")[0]
    assert {str(sub.decoded("TZOFFSETTO")) for sub in vtz.subcomponents} >= {"1:00:00", "2:00:00"}


def test_feed_mixing_two_time_zones(make_meeting):
    berlin = make_meeting(title="Hamburg kick-off", starts_at=at(BERLIN, 2026, 11, 3, 9, 0), timezone="Europe/Berlin")
    boston = make_meeting(title="Boston follow-up", starts_at=at(NEW_YORK, 2026, 11, 3, 9, 0),
                          timezone="America/New_York")
    data = ical.render_feed(meetings_data([_loaded(berlin), _loaded(boston)]), name="Two zones")
    cal = assert_valid_ical(data, expect_tzids={"Europe/Berlin", "America/New_York"})
    assert b"DTSTART;TZID=America/New_York:20261103T090000" in data
    assert b"DTSTART;TZID=Europe/Berlin:20261103T090000" in data
    starts = {str(e["SUMMARY"]): e.decoded("DTSTART").astimezone(UTC) for e in cal.walk("VEVENT")}
    assert starts == {"Hamburg kick-off": datetime(2026, 11, 3, 8, tzinfo=UTC),
                      "Boston follow-up": datetime(2026, 11, 3, 14, tzinfo=UTC)}


def test_utc_meeting_has_z_times_and_no_vtimezone(make_meeting):
    meeting = make_meeting(title="Call", starts_at=datetime(2026, 12, 1, 15, tzinfo=UTC), timezone="UTC")
    data = ical.render_feed(meetings_data([_loaded(meeting)]), name="UTC")
    assert_valid_ical(data, expect_tzids=set())
    assert b"DTSTART:20261201T150000Z" in data and b"VTIMEZONE" not in data


HOSTILE_TITLE = 'Budget, plan; "final" \\ draft 🚀\r\nATTENDEE:mailto:attacker@evil.example\nX-INJECTED:1'
HOSTILE_TEXT = (
    "Line one; with, commas \\ and backslash\r\n"
    "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil@evil.example\r\n"
    "ATTENDEE;ROLE=CHAIR:mailto:attacker@evil.example\rORGANIZER:mailto:boss@evil.example\n"
    "Emoji 👩‍🔬 and umlauts äöü ß — long enough to be folded across several physical lines, "
    "so that a fold lands inside a multi-byte sequence if folding were done by characters: ääääääääääääää"
    "\x07\x1b\x7f control characters vanish"
)


def test_hostile_text_cannot_add_or_break_properties(make_meeting):
    host = PersonFactory(name='Eve "Mallory", Ph.D.; ATTENDEE:mailto:x@evil.example', email="eve@example.org")
    meeting = make_meeting(title=HOSTILE_TITLE, description=HOSTILE_TEXT, location="Hall 1; \\ Building, B",
                           room=None, participants=[(host, "host")])
    data = ical.render_feed(meetings_data([_loaded(meeting)]), name=HOSTILE_TITLE)
    cal = assert_valid_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1, "text must not open a second VEVENT"
    event = events[0]
    assert str(event["UID"]) == meeting.uid
    assert [str(a) for a in (event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]])] \
        == ["mailto:eve@example.org"]
    assert str(event["ORGANIZER"]) != "mailto:boss@evil.example"
    assert "X-INJECTED" not in event
    # Round trip: every value comes back exactly (modulo the normalisation documented in events.ical).
    assert str(event["SUMMARY"]) == " ".join(HOSTILE_TITLE.replace("\r\n", "\n").split())
    description = str(event["DESCRIPTION"])
    assert description.startswith(
        "Line one; with, commas \\ and backslash\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil@evil.example\n"
        "ATTENDEE;ROLE=CHAIR:mailto:attacker@evil.example\nORGANIZER:mailto:boss@evil.example\nEmoji 👩‍🔬"
    )
    assert "\x07" not in description and "\x1b" not in description and "\x7f" not in description
    assert str(event["LOCATION"]) == "Hall 1; \\ Building, B"
    # icalendar keeps unknown properties raw: unescape as the TEXT they are.
    assert unescape_text(str(cal["X-WR-CALNAME"])) == " ".join(HOSTILE_TITLE.split())
    # The same property names as a harmless meeting: nothing was added.
    plain = make_meeting(title="Plain", description="Plain", location="Hall 1", participants=[(PersonFactory(), "host")])
    plain_event = _only_event(assert_valid_ical(ical.render_feed(meetings_data([_loaded(plain)]), name="x")))
    assert set(event.keys()) == set(plain_event.keys())
    # And the other parsers agree there is exactly one attendee.
    import vobject

    vcal = vobject.readOne(data.decode())
    assert len(vcal.vevent.contents["attendee"]) == 1


def _invite(meeting, recipient, method):
    person = recipient.person if isinstance(recipient, Participation) else recipient
    return ical.render_invite(meeting_data(meeting), method=method, recipient=attendee_data(recipient),
                              url=meeting_link_for_person(meeting.pk, person),
                              organizer_name="Visit office", organizer_email="visits@stemcell.example.org")


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invites_pass_itip_restrictions(rich_meeting, method):
    meeting, _chair, guest = rich_meeting
    if method == "CANCEL":
        meeting_cancel(meeting=meeting)
    meeting = _loaded(meeting)
    recipient = next(p for p in meeting.participations.all() if p.person_id == guest.pk)
    data = _invite(meeting, recipient, method)
    cal = assert_valid_ical(data, method=method, expect_tzids={"Europe/Berlin"})
    event = _only_event(cal)
    assert str(cal["METHOD"]) == method
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    assert str(event["ORGANIZER"]) == "mailto:visits@stemcell.example.org"
    assert event["ORGANIZER"].params["CN"] == "Visit office"
    attendee = event["ATTENDEE"]
    assert not isinstance(attendee, list), "one ATTENDEE: the recipient"
    assert str(attendee) == "mailto:lars@lifescience-nord.example.org"
    if method == "REQUEST":
        assert attendee.params["RSVP"] == "TRUE" and attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    else:  # a cancellation asks for no reply (RFC 5546 §3.2.5)
        assert "RSVP" not in attendee.params
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT" and attendee.params["CN"] == "Lars Nilsson"
    assert event["SEQUENCE"] == meeting.sequence
    assert b"REFRESH-INTERVAL" not in data and b"X-WR-CALNAME" not in data


def test_cancel_for_a_removed_person_says_cancelled_even_if_meeting_goes_on(rich_meeting):
    meeting, _chair, guest = rich_meeting
    meeting = _loaded(meeting)
    recipient = next(p for p in meeting.participations.all() if p.person_id == guest.pk)
    event = _only_event(assert_valid_ical(_invite(meeting, recipient, "CANCEL"), method="CANCEL"))
    assert str(event["STATUS"]) == "CANCELLED"


def test_cancel_to_someone_already_removed_takes_a_person(rich_meeting):
    meeting, _chair, guest = rich_meeting
    meeting = _loaded(meeting)
    data = _invite(meeting, guest, "CANCEL")
    event = _only_event(assert_valid_ical(data, method="CANCEL"))
    assert str(event["ATTENDEE"]) == f"mailto:{guest.email}"
    assert event["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"


def test_uid_is_the_same_in_feed_and_invite(rich_meeting):
    meeting, chair, _guest = rich_meeting
    meeting = _loaded(meeting)
    recipient = next(p for p in meeting.participations.all() if p.person_id == chair.pk)
    feed_event = _only_event(icalendar.Calendar.from_ical(ical.render_feed(meetings_data([meeting]), name="x")))
    invite_event = _only_event(icalendar.Calendar.from_ical(_invite(meeting, recipient, "REQUEST")))
    assert str(feed_event["UID"]) == str(invite_event["UID"]) == meeting.uid
    assert invite_event["ATTENDEE"].params["ROLE"] == "CHAIR"


def test_invite_dtstamp_is_now_and_feed_dtstamp_is_last_change(rich_meeting):
    meeting = _loaded(rich_meeting[0])
    recipient = meeting.participations.all()[0]
    later = datetime(2027, 1, 5, 12, 30, 15, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        invite_event = _only_event(icalendar.Calendar.from_ical(_invite(meeting, recipient, "REQUEST")))
    assert invite_event.decoded("DTSTAMP") == later
    feed_event = _only_event(icalendar.Calendar.from_ical(ical.render_feed(meetings_data([meeting]), name="x")))
    assert feed_event.decoded("DTSTAMP") == meeting.updated_at.replace(microsecond=0)


def test_role_and_partstat_mapping_is_complete():
    assert set(ical.ROLE) == set(Participation.Role.values)
    assert set(ical.PARTSTAT) == set(Participation.Rsvp.values)


def test_unknown_method_or_audience_is_refused(rich_meeting):
    meeting = _loaded(rich_meeting[0])
    with pytest.raises(ValueError, match="method"):
        _invite(meeting, meeting.participations.all()[0], "PUBLISH")
    with pytest.raises(ValueError, match="audience"):
        ical.meeting_vevent(meeting_data(meeting), audience="everyone")


@pytest.mark.parametrize("length", [0, 52, 53, 54, 126, 127, 128, 300])
def test_a_spliced_url_line_is_exactly_what_icalendar_writes(length):
    url = "https://visitdesk.example.org/calendars/meetings/1/" + "a" * length
    event = icalendar.Event()
    event.add("url", icalendar.vUri(url))
    expected = event.to_ical().decode().removeprefix("BEGIN:VEVENT\r\n").removesuffix("END:VEVENT\r\n")
    assert ical.url_line(url) == expected
    assert ical.url_line(url + "é") == event_line(url + "é")


def event_line(url: str) -> str:
    event = icalendar.Event()
    event.add("url", icalendar.vUri(url))
    return event.to_ical().decode().removeprefix("BEGIN:VEVENT\r\n").removesuffix("END:VEVENT\r\n")
