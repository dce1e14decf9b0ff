"""A room's day and a person's day in the planner (coordinators).

The visit page plans one visit; a coordinator also asks "what is on in Lab 1 on Tuesday?" and
"where is Dr. Schmidt on Tuesday?". Both pages are the same planner over a different set of
meetings: every meeting in the room, or every meeting the person takes part in, whichever visit
or event it belongs to. New meetings made here are standalone (no visit); on a person's day they
start with that person as host.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from core.roles import is_coordinator
from directory.models import Person
from events.models import Meeting, Participation, Room

from ..answers import meeting_answers
from ..planner import NewParticipant, meetings_on_day, planner_config, planner_people, planner_rooms, planner_texts
from ..programme import itinerary, timelines


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Http404 from None


def _page(request: HttpRequest, *, day: date, zone: str, heading: str, meetings: list[Meeting], rooms: list[Room],
          url_name: str, pk: int, new_participants: Sequence[NewParticipant] = ()) -> HttpResponse:
    people = planner_people(None, meetings)
    context: dict[str, object] = {
        "heading": heading,
        "day": day,
        "zone": zone,
        "timelines": [tl for tl in timelines(meetings, zone, rooms=rooms, days=[day], answers=meeting_answers(meetings))
                      if tl.day == day],
        "days": [d for d in itinerary(meetings, zone) if d.day == day],
        "is_coordinator": True,
        "planner_config": planner_config(visit=None, timezone=zone, rooms=rooms, people=people,
                                         new_participants=list(new_participants)),
        "planner_texts": planner_texts(),
        "planner_rooms": rooms,
        "previous": (url_name, pk, (day - timedelta(days=1)).isoformat()),
        "next": (url_name, pk, (day + timedelta(days=1)).isoformat()),
    }
    return render(request, "web/staff/day.html", context)


@login_required
def room_day(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    if not is_coordinator(request.user):
        raise Http404
    room = get_object_or_404(Room.objects.select_related("venue"), pk=pk)
    on = _day(day)
    zone = room.venue.timezone
    return _page(request, day=on, zone=zone, heading=f"{room.name} ({room.venue.name})",
                 meetings=meetings_on_day(day=on, zone=zone, room=room), rooms=[room], url_name="web:staff-room-day",
                 pk=room.pk)


@login_required
def person_day(request: HttpRequest, pk: int, day: str) -> HttpResponse:
    if not is_coordinator(request.user):
        raise Http404
    person = get_object_or_404(Person, pk=pk)
    on = _day(day)
    zone = person.timezone
    meetings = meetings_on_day(day=on, zone=zone, person=person)
    return _page(request, day=on, zone=zone, heading=_("%(name)s's day") % {"name": person.name},
                 meetings=meetings, rooms=planner_rooms(), url_name="web:staff-person-day", pk=person.pk,
                 new_participants=[NewParticipant(person=person.pk, name=person.name, role=Participation.Role.HOST)])
