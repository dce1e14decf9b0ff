"""Absolute links belonging to a visit: the requester's status page, the programme feed and its meetings.

Both secrets can be rotated by a coordinator (``visit_rotate_feed_token`` /
``visit_rotate_status_token``); every link built from the old one then answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.urls import reverse

from core.links import absolute, link_for
from events.links import per_meeting

if TYPE_CHECKING:
    from .models import Visit


def visit_status_url(visit: Visit) -> str:
    """The requester's status page: a page of the ``web`` interface, which registers where it lives."""
    return link_for("visit-status", visit)


def visit_feed_url(visit: Visit) -> str:
    return absolute(reverse("visit-calendars:visit-feed", kwargs={"token": visit.feed_token}))


def visit_meeting_url(visit: Visit, meeting_id: int) -> str:
    """One programme meeting's .ics under the visit feed's secret: what the feed's VEVENT URL points to."""
    return absolute(reverse("visit-calendars:visit-meeting", kwargs={"token": visit.feed_token, "pk": meeting_id}))


def visit_meeting_links(visit: Visit) -> Callable[[int], str]:
    """``visit_meeting_url`` for many meetings of one visit (the feed's VEVENT URLs), resolved once."""
    return per_meeting("visit-calendars:visit-meeting", token=visit.feed_token)
