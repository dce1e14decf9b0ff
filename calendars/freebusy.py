"""Free/busy out: a person's Visitdesk busy times as an RFC 5545 VFREEBUSY at their private feed token.

Other schedulers (a colleague's Outlook, another booking tool) can then avoid Visitdesk meetings
without learning anything about them: only periods, no titles, rooms or participants. What is shown:
scheduled meetings the person takes part in (``FBTYPE=BUSY``) and absences
(``FBTYPE=BUSY-UNAVAILABLE``), from today to the import horizon. Busy times imported *from* the
person's own calendar are left out, so two systems reading each other never echo each other's
entries back and forth forever.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta

import icalendar
from django.conf import settings
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone as djtz
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from availability import intervals as iv
from availability.intervals import Interval
from availability.models import Absence
from directory.models import Person
from events.models import Meeting, Participation

from .feeds import throttled_response
from .ical import PRODID

CONTENT_TYPE = "text/calendar; charset=utf-8"


def person_freebusy(*, person: Person, start: datetime, end: datetime) -> tuple[list[Interval], list[Interval], datetime]:
    """(meeting periods, absence periods, last change) of ``person`` inside [start, end), merged and clipped."""
    meetings = Participation.objects.filter(
        person=person, meeting__status=Meeting.Status.SCHEDULED, meeting__starts_at__lt=end, meeting__ends_at__gt=start,
    )
    busy = iv.clip(meetings.values_list("meeting__starts_at", "meeting__ends_at"), start, end)
    absences = Absence.objects.filter(person=person, starts_at__lt=end, ends_at__gt=start)
    away = iv.clip(absences.values_list("starts_at", "ends_at"), start, end)
    stamps = [person.updated_at,
              meetings.aggregate(t=Max("meeting__updated_at"))["t"],
              absences.aggregate(t=Max("created_at"))["t"]]
    return busy, away, max(t for t in stamps if t is not None)


def render_freebusy(*, person: Person, start: datetime, end: datetime) -> tuple[bytes, datetime]:
    busy, away, changed = person_freebusy(person=person, start=start, end=end)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    name = " ".join(f"{settings.VISITDESK_ORGANIZER_NAME} – {person.name} (free/busy)".split())
    # TEXT, escaped like every other calendar's name (calendars.ical._calendar): icalendar treats NAME
    # and X-WR-CALNAME as unknown and would write "Müller, Anna" raw, which vobject cuts at the comma
    # and libical reads without the backslash.
    cal.add("name", icalendar.vText(name))
    cal.add("x-wr-calname", icalendar.vText(name))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(timedelta(hours=1)))
    fb = icalendar.FreeBusy()
    fb.add("uid", f"freebusy-{person.feed_token[:16]}@{settings.SITE_DOMAIN}")
    fb.add("dtstamp", changed.astimezone(UTC).replace(microsecond=0))
    fb.add("dtstart", start)
    fb.add("dtend", end)
    for fbtype, periods in (("BUSY", busy), ("BUSY-UNAVAILABLE", away)):
        for a, b in periods:
            fb.add("freebusy", icalendar.vPeriod((a.astimezone(UTC), b.astimezone(UTC))), parameters={"FBTYPE": fbtype})
    cal.add_component(fb)
    return cal.to_ical(), changed


@require_safe
def person_freebusy_feed(request: HttpRequest, token: str) -> HttpResponse:
    """``/calendars/people/<token>/freebusy.ics``: the same secret as the person's meeting feed."""
    person = Person.objects.filter(feed_token=token).first() if token and len(token) <= 64 else None
    if person is None:
        raise Http404
    limited = throttled_response(request)
    if limited is not None:
        return limited
    start = datetime.combine(djtz.now().astimezone(UTC).date(), time(0), tzinfo=UTC)
    end = start + timedelta(days=settings.VISITDESK_BUSY_HORIZON_DAYS)
    body, changed = render_freebusy(person=person, start=start, end=end)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    response: HttpResponse | None = get_conditional_response(request, etag=etag,
                                                             last_modified=int(changed.timestamp()))
    if response is None:
        response = HttpResponse(body, content_type=CONTENT_TYPE)
        response["Content-Disposition"] = 'inline; filename="freebusy.ics"'
    response["ETag"] = etag
    response["Last-Modified"] = http_date(int(changed.timestamp()))
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
