"""The visit programme feed: every meeting of one visit, for the delegation to subscribe to.

Served through ``events.feeds.serve_feed`` so it gets the same validators, 304s, throttling and
pre-rendered VEVENTs as every other feed.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from events import ical
from events.feeds import serve_feed

from .models import Visit
from .selectors import programme_meetings


@require_safe
def visit_feed(request: HttpRequest, token: str) -> HttpResponse:
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
    )
