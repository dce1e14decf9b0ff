"""Absolute links to calendars, with the ``webcal://`` and "add to Google / Outlook" variants.

Every place that offers a feed (API ``me``, status page, host pages, mails) calls these, so the
subscribe buttons are the same everywhere.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.urls import reverse


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def feed_links(https_url: str) -> dict[str, str]:
    webcal = "webcal://" + https_url.split("://", 1)[1]
    return {
        "https": https_url,
        "webcal": webcal,
        "google": f"https://calendar.google.com/calendar/render?cid={quote(webcal, safe='')}",
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?url=" + quote(https_url, safe=""),
    }


def public_feed_url() -> str:
    return absolute(reverse("calendars:public-feed"))


def person_feed_url(person) -> str:
    return absolute(reverse("calendars:person-feed", kwargs={"token": person.feed_token}))


def meeting_ics_url(meeting) -> str:
    return absolute(reverse("calendars:meeting-ics", kwargs={"pk": meeting.pk}))
