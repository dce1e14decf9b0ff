"""VTIMEZONEs that put every onset at the instant zoneinfo changes offset, times that name one instant,
and TEXT escaping of the calendar's own name and description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
import pytest

from calendars import ical
from calendars.links import public_feed_url
from calendars.snapshot import meetings_data
from events.selectors import meeting_list
from tests.support.ical_checks import assert_valid_ical, check_vtimezones

pytestmark = pytest.mark.django_db

ZONES = [
    "Europe/Berlin", "America/New_York", "Europe/London", "Europe/Dublin", "Australia/Sydney",
    "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "Africa/Casablanca", "Asia/Tokyo",
    "America/Sao_Paulo", "Asia/Kolkata", "America/St_Johns", "Pacific/Auckland",
]


def _brute_force_changes(tzid: str, first_year: int, last_year: int) -> set[datetime]:
    """Instants where the offset changes, found by stepping every 15 minutes (independent of the code)."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo(tzid)
    t = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    found, before = set(), t.astimezone(zone).utcoffset()
    while t < end:
        t += timedelta(minutes=15)
        now = t.astimezone(zone).utcoffset()
        if now != before:
            found.add(t)
            before = now
    return found


@pytest.mark.parametrize("tzid", ZONES)
def test_every_observance_onset_minus_tzoffsetfrom_is_the_instant_zoneinfo_changes(tzid):
    data = ical.vtimezone_bytes(tzid, 2026, 2028)
    assert b"COMMENT" not in data
    cal = icalendar.Calendar.from_ical(b"BEGIN:VCALENDAR\r\n" + data + b"END:VCALENDAR\r\n")
    check_vtimezones(cal)  # each onset − TZOFFSETFROM is a change from FROM to TO
    (vtz,) = cal.walk("VTIMEZONE")
    onsets = set()
    for observance in vtz.subcomponents:
        offset_from = observance["TZOFFSETFROM"].td
        if offset_from == observance["TZOFFSETTO"].td:
            continue
        rdates = observance.get("RDATE", [])
        locals_ = [observance.decoded("DTSTART")] + [
            when.dt for rdate in (rdates if isinstance(rdates, list) else [rdates]) for when in rdate.dts]
        onsets |= {(local - offset_from).replace(tzinfo=UTC) for local in locals_}
    # ...and no change is missing.
    assert onsets == _brute_force_changes(tzid, 2026, 2028)


def test_the_spring_onset_is_written_in_the_old_offset():
    data = ical.vtimezone_bytes("Europe/Berlin", 2027, 2027)
    # 2027-03-28 01:00Z: 02:00 in CET (the old offset), not 03:00 (icalendar 7.3's from_tzid).
    assert b"BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\n" in data
    assert b"BEGIN:STANDARD\r\nDTSTART:20271031T030000\r\n" in data


def _loaded(meeting):
    return meeting_list().get(pk=meeting.pk)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2027-10-31T00:30:00+02:00", "2027-10-31T02:30:00+01:00", 3),  # ends in the second 02:30
        ("2027-10-31T02:30:00+02:00", "2027-10-31T02:30:00+01:00", 1),  # first 02:30 to the second
        ("2027-10-31T02:15:00+02:00", "2027-10-31T03:15:00+01:00", 2),  # starts in the first 02:15
    ],
)
def test_a_time_in_the_repeated_hour_is_written_so_that_it_names_one_instant(make_meeting, start, end, hours):
    starts_at, ends_at = datetime.fromisoformat(start), datetime.fromisoformat(end)
    meeting = make_meeting(title="Late talk", starts_at=starts_at, minutes=int((ends_at - starts_at).total_seconds() // 60),
                           timezone="Europe/Berlin")
    data = ical.render_feed(meetings_data([_loaded(meeting)]), name="DST")
    assert b"DTSTART;TZID=" not in data and b"DTEND;TZID=" not in data
    assert f"DTSTART:{starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}".encode() in data
    assert f"DTEND:{ends_at.astimezone(UTC):%Y%m%dT%H%M%SZ}".encode() in data
    event = assert_valid_ical(data).walk("VEVENT")[0]
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=hours)


def test_ordinary_times_keep_their_local_time_and_tzid(make_meeting):
    meeting = make_meeting(title="Morning", starts_at=datetime.fromisoformat("2027-10-31T10:00:00+01:00"),
                           timezone="Europe/Berlin")
    data = ical.render_feed(meetings_data([_loaded(meeting)]), name="DST")
    assert b"DTSTART;TZID=Europe/Berlin:20271031T100000" in data


def test_calendar_name_and_description_are_escaped_as_text(client, make_meeting, public_event):
    make_meeting(title="Info day", event=public_event)
    data = client.get(urlsplit(public_feed_url()).path).content
    assert b"\r\nX-WR-CALDESC:Info days\\, workshops and conferences open to the public.\r\n" in data
    data = ical.render_feed([], name="Visits; A, B \\ C", description="One, two; three \\ four")
    for prop in (b"NAME", b"X-WR-CALNAME"):
        assert b"\r\n" + prop + b":Visits\\; A\\, B \\\\ C\r\n" in data
    for prop in (b"DESCRIPTION", b"X-WR-CALDESC"):
        assert b"\r\n" + prop + b":One\\, two\\; three \\\\ four\r\n" in data
