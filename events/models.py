"""Venues, rooms, public events, meetings, agenda items and participations.

Double bookings are the database's job: on PostgreSQL two exclusion constraints refuse a room in two
overlapping scheduled meetings, and a chair/host/presenter in two overlapping scheduled meetings.
Exclusion constraints cannot join tables, so each participation carries a copy of its meeting's
time range and a ``blocks_time`` flag; ``events.services`` keeps those copies in step inside the
same transaction that changes the meeting.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func, Q

from directory.models import Person, Topic, default_timezone, validate_timezone

from .constraints import PostgresExclusionConstraint


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint expression


def _during(start: str, end: str) -> TsTzRange:
    return TsTzRange(start, end, RangeBoundary())


class Venue(models.Model):
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(
        "directory.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="venues"
    )
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True)
    #: The region inside ``country`` whose public holidays apply (ISO 3166-2 without the country, e.g.
    #: ``BE`` for Berlin); with ``country`` it closes the venue's rooms on holidays (``availability.holidays``).
    subdivision = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    directions = models.TextField(
        blank=True,
        help_text="How to get there (public transport, parking, which entrance, whom to ask at the gate); "
        "printed in the visit programme.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        city = " ".join(part for part in (self.postcode, self.city) if part)
        return ", ".join(part for part in (self.street, city, self.country) if part)


class Room(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(max_length=120)
    capacity = models.PositiveIntegerField(default=10)
    bookable_from = models.TimeField(null=True, blank=True, help_text="Local time; empty means any time")
    bookable_until = models.TimeField(null=True, blank=True)
    #: A canteen or dining room: a programme's lunch goes here, its meetings do not (``visits.rules``).
    dining = models.BooleanField(default=False, help_text="A canteen or dining room: lunches go here")

    class Meta:
        ordering = ["venue__name", "name"]
        constraints = [models.UniqueConstraint("venue", "name", name="room_name_unique_per_venue")]

    def __str__(self) -> str:
        return f"{self.name} ({self.venue.name})"


class Event(models.Model):
    """A public happening (info day, workshop, conference) made of one or more meetings."""

    class Kind(models.TextChoices):
        INFO_DAY = "info_day", "Info day"
        WORKSHOP = "workshop", "Workshop"
        CONFERENCE = "conference", "Conference"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WORKSHOP)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(default=True)
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    topics = models.ManyToManyField(Topic, blank=True, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


def new_meeting_uid() -> str:
    from django.conf import settings

    return f"{uuid.uuid4()}@{settings.SITE_DOMAIN}"


class Meeting(models.Model):
    #: Not a column: set on the rows ``selectors.meeting_conflicts`` returns (why each one clashes).
    conflict_reason: str

    class Kind(models.TextChoices):
        MEETING = "meeting", "Meeting"
        TOUR = "tour", "Tour"
        TALK = "talk", "Talk"
        MEAL = "meal", "Meal"
        BREAK = "break", "Break"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    uid = models.CharField(max_length=255, unique=True, default=new_meeting_uid, editable=False)
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE: rises on every change")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="meetings")
    location = models.CharField(max_length=300, blank=True, help_text="Free text when there is no room")
    online_url = models.URLField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MEETING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings")
    participants: models.ManyToManyField[Person, Participation] = models.ManyToManyField(
        Person, through="Participation", related_name="meetings"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    booked_against_availability = models.BooleanField(
        default=False,
        help_text="A coordinator booked it although a participant was outside working hours, absent or busy.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at"]), models.Index(fields=["status", "starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"),
            PostgresExclusionConstraint(
                name="meeting_room_no_overlap",
                expressions=[(_during("starts_at", "ends_at"), RangeOperators.OVERLAPS), ("room", RangeOperators.EQUAL)],
                condition=Q(status="scheduled", room__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="agenda_items")
    presenter = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    minutes = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["meeting", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Participation(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", "Chair"
        HOST = "host", "Host"
        PRESENTER = "presenter", "Presenter"
        GUEST = "guest", "Guest"

    class Rsvp(models.TextChoices):
        NEEDS_ACTION = "needs-action", "Needs action"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        TENTATIVE = "tentative", "Tentative"

    #: Roles that occupy a person: they cannot be in two overlapping scheduled meetings.
    BLOCKING_ROLES = frozenset({Role.CHAIR, Role.HOST, Role.PRESENTER})

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.GUEST)
    rsvp = models.CharField(max_length=12, choices=Rsvp.choices, default=Rsvp.NEEDS_ACTION)
    responded_at = models.DateTimeField(null=True, blank=True)
    # Copies of the meeting's range and state for the exclusion constraint (see module docstring).
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    blocks_time = models.BooleanField(default=False)
    #: Occupies the person whatever the role: set by ``visits`` for members of the visiting delegation,
    #: who travel together and cannot be in two meetings of their programme at once.
    exclusive = models.BooleanField(
        default=False, help_text="Cannot overlap with other meetings even as a guest (delegation members)."
    )

    class Meta:
        ordering = ["meeting", "role", "person__name"]
        constraints = [
            models.UniqueConstraint("meeting", "person", name="participation_unique_person_per_meeting"),
            PostgresExclusionConstraint(
                name="participation_person_no_overlap",
                expressions=[(_during("starts_at", "ends_at"), RangeOperators.OVERLAPS), ("person", RangeOperators.EQUAL)],
                condition=Q(blocks_time=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} as {self.role} in {self.meeting}"


class MeetingRevision(models.Model):
    """What changed when a meeting's SEQUENCE rose, so update mails can say "moved from 10:00 to 11:00"."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="revisions")
    sequence = models.PositiveIntegerField()
    changes = models.JSONField(default=dict, help_text="field -> [old, new] as display strings")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "sequence"]
        constraints = [models.UniqueConstraint("meeting", "sequence", name="revision_unique_sequence")]

    def __str__(self) -> str:
        changed = ", ".join(sorted(self.changes)) if isinstance(self.changes, dict) else ""
        return f"{self.meeting.title} · SEQUENCE {self.sequence}" + (f" ({changed})" if changed else "")
