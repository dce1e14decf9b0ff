"""When people and rooms can be booked: working hours, absences, closures, imported busy times.

Everything here describes *availability*; the meetings themselves stay in ``events``. Times of day
(working hours) are wall-clock times in the person's own zone and are turned into instants only for a
concrete window (``availability.hours``), so a 09:00 start stays 09:00 across DST changes.
Imported calendars keep only busy intervals: never a summary, location or attendee of someone's
private appointment.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from directory.models import Person
from events.models import Room

#: A sync claimed longer ago than this is taken as lost (its message never reached a worker, or the
#: worker died): a new request may claim it again. A running import ends far sooner (fetch deadline +
#: parse CPU limit, and Celery's 300 s hard limit), so two never overlap in practice.
SYNC_CLAIM_STALE = timedelta(minutes=10)


class WeeklyHours(models.Model):
    """One interval of a person's usual week (several per day are allowed; none at all = no limit)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(help_text="Monday = 0 … Sunday = 6")
    start = models.TimeField(help_text="Local time in the person's zone")
    end = models.TimeField()

    class Meta:
        ordering = ["person", "weekday", "start"]
        verbose_name = "weekly working hours"
        verbose_name_plural = "weekly working hours"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="weekly_hours_end_after_start"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekly_hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.person.name}: {self.weekday} {self.start:%H:%M}–{self.end:%H:%M}"


class HoursException(models.Model):
    """A dated change to the weekly pattern: the rows of one date replace that weekday's intervals.

    A row without start and end means "not working that day".
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="hours_exceptions")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True)
                | Q(start__isnull=False, end__isnull=False, end__gt=F("start")),
                name="hours_exception_interval",
            ),
            # One exception per date: a day off once, and no interval twice (services also refuse overlaps).
            models.UniqueConstraint(fields=["person", "date"], condition=Q(start__isnull=True),
                                    name="hours_exception_one_day_off"),
            models.UniqueConstraint(fields=["person", "date", "start"], condition=Q(start__isnull=False),
                                    name="hours_exception_one_start"),
        ]

    def __str__(self) -> str:
        if self.start is None:
            return f"{self.person.name}: {self.date} off"
        return f"{self.person.name}: {self.date} {self.start:%H:%M}–{self.end:%H:%M}"


class Absence(models.Model):
    """Holiday, travel, illness. The reason is for coordinators only; others see "absent"."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="absences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["person", "starts_at"])]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="absence_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.person.name} absent {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class RoomClosure(models.Model):
    """A room cannot be booked (renovation, maintenance), in addition to its daily bookable hours."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["room", "starts_at"])]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="closure_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.room} closed {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class ExternalCalendar(models.Model):
    """A person's own calendar (its secret ICS address), polled for busy times.

    The URL is a credential: only its owner and coordinators ever see it.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="external_calendars")
    url = models.URLField(max_length=2000)
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Last successful fetch")
    last_error = models.TextField(blank=True, editable=False)
    busy_count = models.PositiveIntegerField(default=0, editable=False)
    # The one sync a calendar may have at a time (``services.external_calendar_sync_request``): set
    # when a sync is queued, ``sync_started_at`` when the worker starts it, both cleared when it ends.
    sync_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "id"]

    def __str__(self) -> str:
        return f"{self.person.name}: calendar #{self.pk}"

    @property
    def sync_state(self) -> str:
        """``queued`` or ``running`` while a sync is claimed, else ``idle`` (also for a claim so old
        that its task must have been lost: the next request or beat run claims it again)."""
        if self.sync_queued_at is None or self.sync_queued_at < timezone.now() - SYNC_CLAIM_STALE:
            return "idle"
        return "queued" if self.sync_started_at is None else "running"


class ExternalBusy(models.Model):
    """One busy interval from an external calendar; ``person`` is copied for the range index."""

    calendar = models.ForeignKey(ExternalCalendar, on_delete=models.CASCADE, related_name="busy")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["person", "starts_at"])]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="external_busy_ends_after_start")]


class PersonAvailability(Person):
    """The admin's "Availability" page of a person (working hours, exceptions, absences, calendars)."""

    class Meta:
        proxy = True
        verbose_name = "person's availability"
        verbose_name_plural = "people's availability"
