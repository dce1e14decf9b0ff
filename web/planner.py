"""What the planner page needs besides the programme: the rooms to plan in, the days, the people
who can take part, and the configuration and texts its script reads.

The page stays server-rendered; ``static/web/planner.js`` and its ES modules in ``planner/`` turn it
into an editor that writes through the REST API (``/api/v1/meetings/``), so the planner and API
clients share one set of services, the same 409s and the same ETag/If-Match rule.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TypedDict

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from directory.models import Person
from events.models import Meeting, Participation, Room
from events.selectors import meeting_list
from visits.booking import programme_is_open
from visits.models import Visit

from .labels import label
from .programme import MAX_DAYS

MAX_PEOPLE = 400


class PlannerPerson(TypedDict):
    """Someone the planner can add to a meeting: ``group`` is "delegation" or "hosts", ``role`` the one they get."""

    id: int
    name: str
    group: str
    role: str


class NewParticipant(TypedDict):
    """Someone every new meeting starts with (on a person's day: that person as host)."""

    person: int
    name: str
    role: str


def planner_rooms(visit: Visit | None = None) -> list[Room]:
    """Rooms of the visit's venue when it has one, else every room: a research centre has a handful."""
    rooms = Room.objects.select_related("venue").order_by("venue__name", "name")
    if visit is not None and visit.venue_id:
        rooms = rooms.filter(venue_id=visit.venue_id)
    return list(rooms)


def planner_days(visit: Visit) -> list[date]:
    """The visit's dates once confirmed; before that the first preferred window, to plan ahead."""
    first, last = visit.starts_on, visit.ends_on
    if first is None:
        window = visit.preferred_windows.first()
        if window is None:
            return []
        first, last = window.start, window.end
    last = min(last or first, first + timedelta(days=MAX_DAYS - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def planner_people(visit: Visit | None, meetings: list[Meeting]) -> list[PlannerPerson]:
    """Who can be added to a meeting: the delegation (as guests) and staff with an account (as hosts)."""
    delegation: dict[int, Person] = {}
    if visit is not None:
        delegation = {p.pk: p for p in visit.delegation.members.all()}
        delegation.setdefault(visit.contact_id, visit.contact)
    in_programme = {p.person_id for m in meetings for p in m.participations.all()}
    staff = (
        Person.objects.filter(Q(user__isnull=False) | Q(pk__in=in_programme))
        .exclude(pk__in=delegation)
        .order_by("name")[:MAX_PEOPLE]
    )
    people = [PlannerPerson(id=p.pk, name=p.name, group="delegation", role=Participation.Role.GUEST)
              for p in sorted(delegation.values(), key=lambda p: p.name.lower())]
    people += [PlannerPerson(id=p.pk, name=p.name, group="hosts", role=Participation.Role.HOST) for p in staff]
    return people


def planner_config(
    *, visit: Visit | None, timezone: str, rooms: list[Room], people: list[PlannerPerson], proposal: str | None = None,
    new_participants: Sequence[NewParticipant] = (),
) -> dict[str, object]:
    """The script's settings, rendered with ``json_script`` (a data block, allowed by a strict CSP).

    Without a visit (a room's or a person's day) new meetings are standalone and there are no proposals.
    """
    urls = {
        "meetings": "/api/v1/meetings/",
        "busy": "/api/v1/availability/busy/",
        "person_day": reverse("web:staff-person-day", kwargs={"pk": 0, "day": "0000-00-00"})
        .replace("/0/", "/%(id)s/").replace("0000-00-00", "%(day)s"),
    }
    if visit is not None:
        urls["proposals"] = f"/api/v1/visits/{visit.pk}/proposals/"
        urls["proposal"] = "/api/v1/proposals/"
    return {
        "visit": visit.pk if visit is not None else None,
        "timezone": timezone,
        "editable": visit is None or programme_is_open(visit),
        "urls": urls,
        "proposal": int(proposal) if proposal and proposal.isdigit() and len(proposal) < 12 else None,
        "rooms": [{"id": r.pk, "name": r.name, "venue": r.venue.name} for r in rooms],
        "people": people,
        "new_participants": list(new_participants),
        "kinds": [[k, label] for k, label in kind_labels()],
        "roles": [[k, label] for k, label in role_labels()],
    }


def meetings_on_day(*, day: date, zone: str, room: Room | None = None, person: Person | None = None) -> list[Meeting]:
    """Meetings touching one local day, in one room or with one person (any visit, event or none)."""
    tz = zoneinfo.ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    qs = meeting_list().filter(starts_at__lt=start + timedelta(days=1), ends_at__gt=start)
    if room is not None:
        qs = qs.filter(room=room)
    if person is not None:
        qs = qs.filter(participations__person=person).distinct()
    return list(qs)


def kind_labels() -> list[tuple[str, str]]:
    """Meeting kinds in the active language (built per request, not at import)."""
    return [(k, str(label(k))) for k in ("meeting", "tour", "talk", "meal", "break")]


def role_labels() -> list[tuple[str, str]]:
    return [(k, str(label(k))) for k in ("host", "chair", "presenter", "guest")]


def planner_texts() -> dict[str, str]:
    """Every sentence the script shows or announces, translated here so German works without a JS catalogue.

    Placeholders are ``%(name)s`` as in gettext; the script fills them.
    """
    return {
        "moved": _("%(title)s: %(day)s %(start)s–%(end)s, %(room)s."),
        "unsaved": _("Not saved yet: Enter saves, Escape puts it back."),
        "saving": _("Saving…"),
        "saved": _("Saved: %(title)s, %(start)s–%(end)s, %(room)s."),
        "created": _("Created “%(title)s”, %(start)s–%(end)s, %(room)s."),
        "cancelled": _("Cancelled “%(title)s”."),
        "abandoned": _("Change abandoned; “%(title)s” is back at %(start)s–%(end)s."),
        "clash": _("Clash: %(reasons)s."),
        "clash_room": _("%(room)s is booked for “%(other)s”"),
        "clash_person": _("%(person)s is also in “%(other)s”"),
        "busy_room": _("%(room)s is not available %(start)s–%(end)s"),
        "busy_person": _("%(person)s is busy %(start)s–%(end)s"),
        "refused": _("Not saved: %(message)s"),
        "rules_broken": _("The programme now breaks these rules (saved all the same): %(rules)s"),
        "refused_override": _("Not saved: %(message)s Enter again books it anyway; Escape puts it back."),
        "stale": _("Someone else changed “%(title)s” meanwhile. It is reloaded as it is now; make your change again."),
        "gone": _("This meeting no longer exists or you may not change it."),
        "stale_panel": _("Someone else changed “%(title)s” meanwhile; the timeline now shows their version. "
                         "Save again to replace it with what you see here, or close to keep theirs."),
        "network": _("Could not reach the server; nothing was saved."),
        "undone": _("Undone: %(what)s"),
        "nothing_to_undo": _("Nothing to undo."),
        "undo_label": _("Undo: %(what)s"),
        "what_move": _("move of “%(title)s”"),
        "what_edit": _("changes to “%(title)s”"),
        "what_create": _("creation of “%(title)s”"),
        "what_cancel": _("cancellation of “%(title)s”"),
        "cannot_move_cancelled": _("A cancelled meeting cannot be moved."),
        "no_room": _("No room"),
        "new_meeting": _("New meeting"),
        "edit_meeting": _("Edit “%(title)s”"),
        "selection": _("New meeting %(start)s–%(end)s in %(room)s: fill in the details and save."),
        "remove": _("Remove"),
        "remove_person": _("Remove %(name)s"),
        "role_of": _("Role of %(name)s"),
        "agenda_title": _("Agenda item %(n)s"),
        "agenda_minutes": _("Minutes for item %(n)s"),
        "remove_item": _("Remove item %(n)s"),
        "title_required": _("Give the meeting a title."),
        "ends_after": _("The meeting must end after it starts."),
        "busy_person_label": _("%(person)s busy"),
        "busy_room_label": _("Not available"),
        "proposal_loaded": _("Proposal with %(n)s draft meetings shown; accept them all or one by one."),
        "proposal_accepted": _("Accepted: %(n)s meetings booked."),
        "proposal_failed": _("The proposal could not be accepted: %(message)s"),
        "proposing": _("Asking the scheduler for a proposal…"),
        "accept": _("Accept “%(title)s”"),
        "draft": _("Draft"),
        "cancelled_flag": _("Cancelled"),
        "person_day": _("%(name)s's day"),
        # answers to the invitations (static/web/planner/answers.js; the same words as _block_answers.html)
        "answer_declined": _("Declined: %(names)s"),
        "answer_declined_guest": _("Guest declined: %(names)s"),
        "answer_tentative": _("Maybe: %(names)s"),
        "answer_waiting": _("No answer yet: %(names)s"),
    }
