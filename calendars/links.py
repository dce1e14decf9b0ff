"""Absolute links to calendars, with the ``webcal://`` and "add to Google / Outlook" variants.

Every place that offers a feed (API ``me``, status page, host pages, mails) calls these, so the
subscribe buttons are the same everywhere. ``meeting_link_for_person`` is the single-meeting .ics
link put into invites, reminders and a person's feed: it needs no account (delegation guests have
none), is signed for that person and dies when their feed token is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from core.links import absolute

if TYPE_CHECKING:  # links.py is imported by models' neighbours; annotations only
    from directory.models import Person
    from events.models import Meeting
    from visits.models import Visit


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


def person_feed_url(person: Person) -> str:
    return absolute(reverse("calendars:person-feed", kwargs={"token": person.feed_token}))


def meeting_ics_url(meeting: Meeting) -> str:
    return absolute(reverse("calendars:meeting-ics", kwargs={"pk": meeting.pk}))


# --- single-meeting links that need no account -----------------------------------------------

MEETING_LINK_SALT = "events.meeting-link"


def _meeting_link_mac(meeting_id: int, person_id: int, feed_token: str) -> str:
    # 128 bits of HMAC over the meeting, the person and their current feed token: per person, not
    # forgeable, and revoked with everything else of theirs when the feed token is rotated.
    return salted_hmac(MEETING_LINK_SALT, f"{meeting_id}:{person_id}:{feed_token}", algorithm="sha256").hexdigest()[:32]


def meeting_link_token(meeting_id: int, person: Person) -> str:
    return f"{person.pk}-{_meeting_link_mac(meeting_id, person.pk, person.feed_token)}"


def read_meeting_link_token(meeting_id: int, token: str, *, feed_token_of: Callable[[int], str | None]) -> int | None:
    """The person id the token was made for, or None. ``feed_token_of(person_id)``: their current token."""
    person_part, _, mac = token.partition("-")
    if not person_part.isdigit() or len(mac) != 32:
        return None
    person_id = int(person_part)
    feed_token = feed_token_of(person_id)
    if not feed_token:
        return None
    return person_id if constant_time_compare(mac, _meeting_link_mac(meeting_id, person_id, feed_token)) else None


def meeting_link_for_person(meeting_id: int, person: Person) -> str:
    """The link to one meeting's .ics for ``person``: works without an account, for them only."""
    return absolute(reverse("calendars:meeting-ics-signed",
                            kwargs={"pk": meeting_id, "token": meeting_link_token(meeting_id, person)}))


def per_meeting(url_name: str, **kwargs: Any) -> Callable[[int], str]:
    """``meeting_id -> absolute URL`` for a route with a ``pk`` (and fixed other arguments), the route
    resolved once: a feed asks for thousands of links, and ``reverse`` costs far more than an HMAC."""
    sentinel = 987654321
    template = absolute(reverse(url_name, kwargs={**kwargs, "pk": sentinel}))
    head, tail = template.split(str(sentinel), 1)
    return lambda meeting_id: f"{head}{int(meeting_id)}{tail}"


def meeting_links_for_person(person: Person) -> Callable[[int], str]:
    """``meeting_link_for_person`` for many meetings of one person (a feed's VEVENT URLs): the route
    is resolved and the HMAC key derived once (the same MAC as ``salted_hmac``)."""
    sentinel_token = "TOKEN-0"
    url = per_meeting("calendars:meeting-ics-signed", token=sentinel_token)
    key = hashlib.sha256(MEETING_LINK_SALT.encode() + settings.SECRET_KEY.encode()).digest()
    base = hmac.new(key, digestmod=hashlib.sha256)

    def link(meeting_id: int) -> str:
        mac = base.copy()
        mac.update(f"{int(meeting_id)}:{person.pk}:{person.feed_token}".encode())
        return url(meeting_id).replace(sentinel_token, f"{person.pk}-{mac.hexdigest()[:32]}", 1)

    return link


# --- a visit's programme feed ---------------------------------------------------------------


def visit_feed_path(visit: Visit) -> str:
    return reverse("calendars:visit-feed", kwargs={"token": visit.feed_token})


def visit_feed_url(visit: Visit) -> str:
    return absolute(visit_feed_path(visit))


def visit_meeting_url(visit: Visit, meeting_id: int) -> str:
    """One programme meeting's .ics under the visit feed's secret: what the feed's VEVENT URL points to."""
    return absolute(reverse("calendars:visit-meeting", kwargs={"token": visit.feed_token, "pk": meeting_id}))


def visit_meeting_links(visit: Visit) -> Callable[[int], str]:
    """``visit_meeting_url`` for many meetings of one visit (the feed's VEVENT URLs), resolved once."""
    return per_meeting("calendars:visit-meeting", token=visit.feed_token)
