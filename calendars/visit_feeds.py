"""The visit programme feed: every meeting of one visit, for the delegation to subscribe to.

Served through ``calendars.feeds.serve_feed`` so it gets the same validators, 304s, throttling and
pre-rendered VEVENTs as every other feed.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from events.models import Meeting
from visits.models import Visit
from visits.selectors import programme_meetings

from . import ical
from .feeds import serve_feed
from .links import visit_meeting_links, visit_meeting_url


@require_safe
def visit_feed(request: HttpRequest, token: str) -> HttpResponseBase:
    # One query for the visit (delegation joined for the calendar name), one aggregate for the validator.
    visit = Visit.objects.select_related("delegation").filter(feed_token=token).first() if token else None
    if visit is None:
        raise Http404
    return serve_feed(
        request,
        lambda: programme_meetings(visit=visit),
        name=f"{visit.delegation.name} – visit {visit.reference}",
        description=f"Programme of visit {visit.reference}.",
        # The delegation sees who they meet; the feed URL is as private as the invites they receive.
        audience=ical.PRIVATE,
        filename=f"{visit.reference}.ics",
        changed_at=visit.updated_at,
        link=visit_meeting_links(visit),
    )


@require_safe
def visit_meeting(request: HttpRequest, token: str, pk: int) -> HttpResponseBase:
    """One programme meeting's .ics for whoever holds the visit feed link (no account needed)."""
    visit = Visit.objects.filter(feed_token=token).first() if token else None
    meeting = Meeting.objects.filter(pk=pk, programme_slot__visit=visit).first() if visit else None
    if visit is None or meeting is None:
        raise Http404
    response = serve_feed(
        request,
        lambda: programme_meetings(visit=visit).filter(pk=pk),
        name=" ".join(meeting.title.split()) or "Meeting",
        audience=ical.PRIVATE,
        filename=f"meeting-{pk}.ics",
        link=lambda meeting_id: visit_meeting_url(visit, meeting_id),
    )
    if response.status_code == 200:
        response["Content-Disposition"] = f'attachment; filename="meeting-{pk}.ics"'
    return response
