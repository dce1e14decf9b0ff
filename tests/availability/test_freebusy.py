"""Free/busy out: VFREEBUSY at the person's feed token, valid for every parser, no meeting details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from availability.models import Absence, ExternalBusy, ExternalCalendar
from events.models import Meeting, Participation
from tests.factories import MeetingFactory, ParticipationFactory, PersonFactory
from tests.support.ical_checks import assert_valid_ical

from .conftest import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    person = PersonFactory(name="Dr. Busy")
    secret = MeetingFactory(title="Confidential merger talk", starts_at=utc(2026, 12, 1, 9), ends_at=utc(2026, 12, 1, 10))
    ParticipationFactory(meeting=secret, person=person, role=Participation.Role.HOST)
    touching = MeetingFactory(room=None, starts_at=utc(2026, 12, 1, 10), ends_at=utc(2026, 12, 1, 11))
    ParticipationFactory(meeting=touching, person=person)
    cancelled = MeetingFactory(starts_at=utc(2026, 12, 2, 9), ends_at=utc(2026, 12, 2, 10), status=Meeting.Status.CANCELLED)
    ParticipationFactory(meeting=cancelled, person=person)
    Absence.objects.create(person=person, starts_at=utc(2026, 12, 10), ends_at=utc(2026, 12, 12), reason="Honeymoon")
    calendar = ExternalCalendar.objects.create(person=person, url="https://calendar.example.org/x.ics")
    ExternalBusy.objects.create(calendar=calendar, person=person, starts_at=utc(2026, 12, 3, 9), ends_at=utc(2026, 12, 3, 10))
    return person


@time_machine.travel(datetime(2026, 11, 28, 15, tzinfo=UTC), tick=False)
def test_freebusy_lists_periods_only(person):
    response = Client().get(f"/calendars/people/{person.feed_token}/freebusy.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    cal = assert_valid_ical(body)
    fb = next(c for c in cal.walk("VFREEBUSY"))
    periods = [(p.params["FBTYPE"], p.dt) for p in (fb["FREEBUSY"] if isinstance(fb["FREEBUSY"], list) else [fb["FREEBUSY"]])]
    assert periods == [("BUSY", (utc(2026, 12, 1, 9), utc(2026, 12, 1, 11))),
                       ("BUSY-UNAVAILABLE", (utc(2026, 12, 10), utc(2026, 12, 12)))]
    assert fb["DTSTART"].dt == utc(2026, 11, 28) and fb["DTEND"].dt == utc(2026, 11, 28) + timedelta(days=180)
    assert fb["DTSTAMP"].dt.utcoffset() == timedelta(0)
    for secret in (b"Confidential", b"Honeymoon", b"merger"):
        assert secret not in body
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body and b"PRODID:" in body
    # byte-stable, so a revalidation is a 304
    again = Client().get(f"/calendars/people/{person.feed_token}/freebusy.ics", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_wrong_token_is_404():
    assert Client().get("/calendars/people/not-a-token/freebusy.ics").status_code == 404


def test_the_calendar_name_is_escaped_text_for_every_reader(settings):
    """NAME / X-WR-CALNAME are TEXT: a comma, a semicolon or a backslash in a name is escaped, so vobject
    reads the whole name (not the part before the comma) and libical keeps the backslash."""
    import vobject

    from tests.support import ical_checks

    settings.VISITDESK_ORGANIZER_NAME = "Campus; Visits"
    person = PersonFactory(name="Müller, Anna \\ Dr.")
    response = Client().get(f"/calendars/people/{person.feed_token}/freebusy.ics")
    body = response.content
    assert_valid_ical(body)
    expected = "Campus; Visits – Müller, Anna \\ Dr. (free/busy)"
    unfolded = body.replace(b"\r\n ", b"").decode()
    assert "NAME:Campus\\; Visits – Müller\\, Anna \\\\ Dr. (free/busy)\r\n" in unfolded
    assert "X-WR-CALNAME:Campus\\; Visits – Müller\\, Anna \\\\ Dr. (free/busy)\r\n" in unfolded
    parsed = vobject.readOne(body.decode())
    assert parsed.contents["x-wr-calname"][0].value == expected
    if ical_checks.ICalGLib is not None:
        lib = ical_checks.ICalGLib
        root = lib.Parser.parse_string(body.decode())
        prop = root.get_first_property(lib.PropertyKind.X_PROPERTY)
        while prop is not None and prop.get_x_name() != "X-WR-CALNAME":
            prop = root.get_next_property(lib.PropertyKind.X_PROPERTY)
        assert prop is not None
        # libical hands X- values back as written; unescaping them gives the name exactly once.
        raw = prop.get_value_as_string()
        assert raw.replace("\\\\", "\x00").replace("\\,", ",").replace("\\;", ";").replace("\x00", "\\") == expected
