"""Absolute links belonging to a visit: the requester's status page and the programme feed."""

from __future__ import annotations

from django.urls import reverse

from events.links import absolute


def visit_status_url(visit) -> str:
    return absolute(reverse("web:visit-status", kwargs={"token": visit.status_token}))


def visit_feed_url(visit) -> str:
    return absolute(reverse("visit-calendars:visit-feed", kwargs={"token": visit.feed_token}))
