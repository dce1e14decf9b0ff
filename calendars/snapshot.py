"""Loaded rows → the renderer's plain data: the one place ``calendars.ical``'s input is built.

``calendars.ical`` imports no model and runs no query; everything a VEVENT shows is copied here
from ``events.selectors.meeting_list`` rows (room, venue, event, agenda with topic and presenter,
participations with person already joined), so building a ``MeetingData`` costs no query either.
An unloaded meeting still works, one query per relation, which is what the prefetch avoids.
"""

from __future__ import annotations

from collections.abc import Iterable

from directory.models import Person
from events.models import Meeting, Participation

from .ical import AgendaItemData, AttendeeData, MeetingData, RoomData
from .links import meeting_ics_url


def attendee_data(recipient: Participation | Person) -> AttendeeData:
    """A participation as an attendee; a bare ``Person`` (no longer on the meeting) gets the defaults."""
    if isinstance(recipient, Person):
        recipient = Participation(person=recipient)
    person = recipient.person
    return AttendeeData(email=person.email, name=person.name, role=str(recipient.role), rsvp=str(recipient.rsvp))


def meeting_data(meeting: Meeting, *, with_attendees: bool = True) -> MeetingData:
    """``with_attendees=False``: an invite lists only its recipient, so its participations are not read."""
    room = meeting.room
    return MeetingData(
        id=meeting.pk,
        uid=meeting.uid,
        sequence=meeting.sequence,
        title=meeting.title,
        description=meeting.description,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        timezone=meeting.timezone,
        is_cancelled=meeting.is_cancelled,
        created_at=meeting.created_at,
        updated_at=meeting.updated_at,
        location=meeting.location,
        room=None if room is None else RoomData(name=room.name, venue_name=room.venue.name,
                                                venue_address=room.venue.address),
        online_url=meeting.online_url,
        event_title=None if meeting.event is None else meeting.event.title,
        agenda=tuple(
            AgendaItemData(
                title=item.title,
                topic=item.topic.name if item.topic is not None else "",
                presenter=item.presenter.name if item.presenter is not None else "",
                minutes=item.minutes,
                notes=item.notes,
            )
            for item in meeting.agenda_items.all()
        ),
        attendees=tuple(attendee_data(p) for p in meeting.participations.all()) if with_attendees else (),
        public_url=meeting_ics_url(meeting),
    )


def meetings_data(meetings: Iterable[Meeting]) -> list[MeetingData]:
    """``meeting_data`` of each, in order (``ical.render_feed``'s input from ``meeting_list()`` rows)."""
    return [meeting_data(m) for m in meetings]
