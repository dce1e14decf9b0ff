"""The pages a German reader sees are German (issue 19): the host's availability page, the proposal
page's badge and dates, the planner's day headings — dates with the day's period ("22. Dezember")."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from availability.models import Absence, HoursException, WeeklyHours
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def host_client():
    user = UserFactory(username="gastgeberin", is_staff=False)
    person = PersonFactory(user=user, timezone="Europe/Berlin", name="Dr. Ada Lind")
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(user)
    return client, person


def test_the_hosts_availability_page_is_german_with_german_dates(host_client):
    client, person = host_client
    WeeklyHours.objects.create(person=person, weekday=0, start=time(9), end=time(17))
    HoursException.objects.create(person=person, date=date(2031, 12, 22), start=time(9), end=time(12))
    Absence.objects.create(person=person, starts_at=datetime(2031, 12, 23, 8, tzinfo=BERLIN),
                           ends_at=datetime(2031, 12, 24, 18, tzinfo=BERLIN), reason="Konferenz")
    html = client.get("/staff/availability/").content.decode()
    assert '<html lang="de">' in html
    for german in ("Meine Verfügbarkeit", "Arbeitszeiten", "Montag", "Sonntag", "Ausnahmen", "Abwesenheiten",
                   "Arbeitszeiten speichern", "Ausnahme hinzufügen", "Abwesenheit hinzufügen",
                   "Meine eigenen Kalender", "Geheime Adresse Ihres Kalenders (ICS)", "Grund (nur die Koordination"):
        assert german in html, german
    for english in ("Working hours", "Absences", "Monday", "Add absence", "My own calendars", "Save working hours"):
        assert english not in html, english
    # German dates: the day's period, German month names (an exception on Monday 22 December 2031).
    assert "Mo., 22. Dez. 2031" in html
    assert "Ausnahme am 22. Dezember 2031 entfernen" in html
    assert "Di., 23. Dez. 2031 08:00" in html


def test_saving_hours_says_so_in_german(host_client):
    client, _ = host_client
    response = client.post("/staff/availability/hours/", {f"day{d}": "" for d in range(7)} | {"day0": "9-17"},
                           follow=True)
    assert "Schreiben Sie Zeiträume wie 09:00-12:00, 13:00-17:00." in response.content.decode()


@pytest.mark.parametrize(("language", "expected"), [("de", "22. Dezember"), ("en", "22 December")])
def test_day_and_month_carry_the_days_period_in_german(language, expected):
    from django.utils import translation

    from web.templatetags.visitdesk import daymonth

    with translation.override(language):
        assert daymonth(date(2031, 12, 22)) == expected
