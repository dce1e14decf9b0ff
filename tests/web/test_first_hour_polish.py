"""Polish a newcomer met: the API root lists endpoints; German pages read German dates and words, and
call the reference what the mails call it."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.utils import translation

from web.templatetags.visitdesk import longdate, shortdate

pytestmark = pytest.mark.django_db


def german() -> Client:
    client = Client()
    client.cookies["django_language"] = "de"
    return client


def test_the_api_root_lists_the_endpoints():
    response = Client().get("/api/v1/")
    assert response.status_code == 200
    endpoints = response.json()["endpoints"]
    for name in ("meetings", "visits", "people", "visit-requests", "me"):
        assert endpoints[name].endswith(f"/api/v1/{name}/")
    assert response.json()["schema"].endswith("/api/schema/")


def test_german_date_formats():
    with translation.override("de"):
        assert longdate(date(2026, 12, 9)) == "Mittwoch, 9. Dezember 2026"
        assert shortdate(date(2026, 12, 21)) == "Mo., 21. Dez. 2026"
    with translation.override("en"):
        assert longdate(date(2026, 12, 9)) == "Wednesday, 9 December 2026"


def test_german_pages_read_german_dates(confirmed_visit):
    page = german().get(f"/visits/status/{confirmed_visit.status_token}/").content.decode()
    with translation.override("de"):
        assert longdate(confirmed_visit.day) in page  # the programme's day heading
        window = confirmed_visit.preferred_windows.first()
        assert shortdate(window.start) in page


def test_no_english_help_text_on_the_german_form():
    page = german().get("/visits/request/").content.decode()
    assert "Between 1 and" not in page and "Zwischen 1 und 50." in page


def test_the_reference_has_one_name_on_the_form_and_in_mails():
    page = german().get("/visits/request/").content.decode()
    with translation.override("de"):  # the mails take their words from the same catalogue
        mail = translation.gettext("thank you for your request for a visit of %(delegation)s. Its reference is %(reference)s.")
    assert "Aktenzeichen" in page and "Aktenzeichen" in mail
    assert "Zeichen und" not in page
