"""The availability admin pages open and save for a coordinator."""

from __future__ import annotations

import pytest

from availability.models import ExternalCalendar, WeeklyHours
from tests.factories import PersonFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["personavailability", "absence", "roomclosure", "externalcalendar"])
def test_lists_and_forms_open(admin_client, path):
    PersonFactory()
    assert admin_client.get(f"/admin/availability/{path}/").status_code == 200
    if path != "personavailability":
        assert admin_client.get(f"/admin/availability/{path}/add/").status_code == 200


def test_a_person_page_edits_working_hours_inline(admin_client):
    person = PersonFactory(timezone="Europe/Berlin")
    RoomFactory()
    url = f"/admin/availability/personavailability/{person.pk}/change/"
    assert admin_client.get(url).status_code == 200
    data = {
        "weekly_hours-TOTAL_FORMS": "1", "weekly_hours-INITIAL_FORMS": "0",
        "weekly_hours-0-weekday": "0", "weekly_hours-0-start": "09:00", "weekly_hours-0-end": "17:00",
        "hours_exceptions-TOTAL_FORMS": "0", "hours_exceptions-INITIAL_FORMS": "0",
        "absences-TOTAL_FORMS": "0", "absences-INITIAL_FORMS": "0",
        "external_calendars-TOTAL_FORMS": "1", "external_calendars-INITIAL_FORMS": "0",
        "external_calendars-0-url": "webcal://calendar.example.org/secret.ics",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(WeeklyHours.objects.filter(person=person).values_list("weekday", flat=True)) == [0]
    assert ExternalCalendar.objects.get(person=person).url == "https://calendar.example.org/secret.ics"
    # an interval that ends before it starts is a form error, nothing saved
    data["weekly_hours-0-start"], data["weekly_hours-0-end"] = "17:00", "09:00"
    data["external_calendars-TOTAL_FORMS"] = "0"
    assert admin_client.post(url, data).status_code == 200
    assert WeeklyHours.objects.filter(person=person).count() == 1
