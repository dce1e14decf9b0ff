"""``/staff/availability/``: a host edits their own hours, exceptions, absences and calendars."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import translation

from availability.models import Absence, ExternalCalendar, HoursException, WeeklyHours
from tests.factories import PersonFactory, UserFactory

from .conftest import utc

pytestmark = pytest.mark.django_db
PAGE = "/staff/availability/"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def host(client):
    user = UserFactory(username="host", is_staff=False)
    person = PersonFactory(user=user, timezone="Europe/Berlin")
    client.force_login(user)
    return person


def _hours(**days):
    return {f"day{d}": "" for d in range(7)} | days


def test_page_needs_a_login(client):
    assert client.get(PAGE)["Location"].startswith("/staff/login/")


def test_a_host_saves_working_hours_and_sees_them_again(client, host):
    response = client.post("/staff/availability/hours/", _hours(day0="09:00-12:00, 13:00-17:00", day4="8:30-14:00"))
    assert response.status_code == 302
    assert sorted(WeeklyHours.objects.filter(person=host).values_list("weekday", "start", "end")) == [
        (0, time(9), time(12)), (0, time(13), time(17)), (4, time(8, 30), time(14))]
    page = client.get(PAGE).content.decode()
    assert 'value="09:00-12:00, 13:00-17:00"' in page and 'value="08:30-14:00"' in page


def test_bad_hours_show_the_error_and_keep_what_was_stored(client, host):
    WeeklyHours.objects.create(person=host, weekday=1, start=time(9), end=time(17))
    response = client.post("/staff/availability/hours/", _hours(day1="17:00-09:00"))
    assert response.status_code == 400
    assert "must end after it starts" in response.content.decode()
    assert WeeklyHours.objects.filter(person=host).count() == 1


def test_exceptions_and_absences_in_the_person_zone(client, host):
    assert client.post("/staff/availability/exceptions/", {"date": "2026-12-24", "hours": ""}).status_code == 302
    assert client.post("/staff/availability/exceptions/", {"date": "2026-12-28", "hours": "10:00-12:00"}).status_code == 302
    assert sorted(HoursException.objects.filter(person=host).values_list("date", "start")) == [
        (utc(2026, 12, 24).date(), None), (utc(2026, 12, 28).date(), time(10))]
    assert client.post("/staff/availability/exceptions/2026-12-24/remove/").status_code == 302
    assert HoursException.objects.filter(person=host).count() == 1
    assert client.post("/staff/availability/exceptions/not-a-day/remove/").status_code == 404
    assert HoursException.objects.filter(person=host).count() == 1
    response = client.post("/staff/availability/absences/", {"starts_at": "2030-07-01T09:00", "ends_at": "2030-07-03T18:00",
                                                             "reason": "Conference"})
    assert response.status_code == 302
    absence = Absence.objects.get(person=host)
    assert (absence.starts_at, absence.ends_at) == (utc(2030, 7, 1, 7), utc(2030, 7, 3, 16))  # CEST
    assert "Conference" in client.get(PAGE).content.decode()
    bad = client.post("/staff/availability/absences/", {"starts_at": "2030-07-03T09:00", "ends_at": "2030-07-01T09:00"})
    assert bad.status_code == 400


def test_a_host_cannot_touch_someone_elses_rows(client, host):
    other = PersonFactory()
    theirs = Absence.objects.create(person=other, starts_at=utc(2030, 1, 1), ends_at=utc(2030, 1, 2), reason="Private")
    calendar = ExternalCalendar.objects.create(person=other, url="https://calendar.example.org/other.ics")
    assert client.post(f"/staff/availability/absences/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/staff/availability/calendars/{calendar.pk}/remove/").status_code == 404
    assert Absence.objects.filter(pk=theirs.pk).exists() and ExternalCalendar.objects.filter(pk=calendar.pk).exists()
    assert "Private" not in client.get(PAGE).content.decode()


def test_adding_a_calendar_queues_it_and_shows_the_result_when_it_lands(client, host, settings):
    """The page never fetches (changed in issue 17: adding used to fetch inside the request); the
    worker's refusal of a local address shows up on the next page load."""
    from availability.tasks import sync_calendar

    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False
    response = client.post("/staff/availability/calendars/", {"url": "http://127.0.0.1:9/x.ics"}, follow=True)
    assert response.status_code == 200
    calendar = ExternalCalendar.objects.get(person=host)
    assert calendar.last_error == "" and calendar.sync_state == "queued"
    page = response.content.decode()
    assert "queued" in page and "sync queued" in page
    sync_calendar(calendar.pk)
    calendar.refresh_from_db()
    assert "private or local" in calendar.last_error and calendar.sync_state == "idle"
    assert "private or local" in client.get(PAGE).content.decode()
    assert client.post("/staff/availability/calendars/", {"url": "ftp://x"}).status_code == 400


def test_my_meetings_links_here(client, host):
    assert PAGE in client.get("/staff/my-meetings/").content.decode()


def test_an_account_without_a_person_gets_the_page_saying_so_on_every_address(client):
    """Each of the eight views answers "not linked to a person" (404) before reading the form or the row."""
    other = PersonFactory()
    theirs = Absence.objects.create(person=other, starts_at=utc(2030, 1, 1), ends_at=utc(2030, 1, 2))
    calendar = ExternalCalendar.objects.create(person=other, url="https://calendar.example.org/other.ics")
    client.force_login(UserFactory(username="unlinked", is_staff=False))
    answers = [
        client.get(PAGE),
        client.post("/staff/availability/hours/", _hours(day0="09:00-17:00")),
        client.post("/staff/availability/exceptions/", {"date": "2030-01-07", "hours": ""}),
        client.post("/staff/availability/exceptions/2030-01-07/remove/"),
        client.post("/staff/availability/absences/", {"starts_at": "2030-01-07T09:00", "ends_at": "2030-01-07T17:00"}),
        client.post(f"/staff/availability/absences/{theirs.pk}/remove/"),
        client.post("/staff/availability/calendars/", {"url": "https://calendar.example.org/mine.ics"}),
        client.post(f"/staff/availability/calendars/{calendar.pk}/sync/"),
    ]
    assert [r.status_code for r in answers] == [404] * 8
    assert all("not linked to a person" in r.content.decode() for r in answers)
    assert not WeeklyHours.objects.exists() and not HoursException.objects.exists()
    assert list(Absence.objects.all()) == [theirs] and list(ExternalCalendar.objects.all()) == [calendar]
