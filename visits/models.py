"""Delegations and visits.

A visit's programme is the set of meetings linked through ``ProgrammeSlot``: the link lives here, not
on ``Meeting``, so the ``events`` app never needs to know that visits exist.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.tokens import new_url_token
from directory.models import Language, Organisation, Person, Topic, default_timezone, validate_timezone
from events.models import Meeting, Venue


class Delegation(models.Model):
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="delegations")
    lead = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    members = models.ManyToManyField(Person, blank=True, related_name="delegations")
    size = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VisitLength(models.TextChoices):
    """How long the requester wants the visit to be (the request form's question)."""

    HALF_DAY = "half_day", "Half a day"
    ONE_DAY = "one_day", "One day"
    TWO_DAYS = "two_days", "Two days"


#: The number of programme days each length takes.
VISIT_LENGTH_DAYS = {VisitLength.HALF_DAY: 1, VisitLength.ONE_DAY: 1, VisitLength.TWO_DAYS: 2}


class Visit(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    class DelegationMail(models.TextChoices):
        """How the delegation hears about its programme (hosts and other staff always get per-meeting invites)."""

        PROGRAMME = "programme", "One programme mail (PDF and .ics), one update mail per change"
        INVITES = "invites", "A calendar invitation per meeting"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="visits")
    contact = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="requested_visits")
    host_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="hosted_visits"
    )
    venue = models.ForeignKey(Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits")
    coordinator = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="coordinated_visits"
    )
    topics = models.ManyToManyField(Topic, blank=True, related_name="visits")
    purpose = models.TextField(blank=True)
    #: How long the requester asked the visit to be; blank for requests made before the question existed.
    duration = models.CharField(max_length=10, choices=VisitLength.choices, blank=True, default="")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    starts_on = models.DateField(null=True, blank=True, help_text="First day, set on confirmation")
    ends_on = models.DateField(null=True, blank=True, help_text="Last day (inclusive)")
    status_token = models.CharField(max_length=64, unique=True, default=new_url_token, editable=False)
    feed_token = models.CharField(max_length=64, unique=True, default=new_url_token, editable=False)
    decision_note = models.TextField(blank=True, help_text="Reason given on decline or cancellation")
    delegation_mail = models.CharField(
        max_length=10, choices=DelegationMail.choices, default=DelegationMail.PROGRAMME,
        help_text="Programme: each member and the requester get one mail with the whole programme once it is "
        "sent, then one update per change. Invites: a calendar invitation per meeting, as for hosts.",
    )
    programme_sent_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the programme was released to the delegation (proposal accepted or “Send programme”); "
        "until then the delegation receives no programme mail.",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="visit_ends_on_after_starts_on",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(starts_on__isnull=False, ends_on__isnull=False),
                name="visit_confirmed_has_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.delegation.name}"

    @property
    def days_wanted(self) -> int | None:
        """Programme days the requested length takes (None: not asked, take the whole window)."""
        return VISIT_LENGTH_DAYS.get(VisitLength(self.duration)) if self.duration else None


class PreferredWindow(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="preferred_windows")
    start = models.DateField()
    end = models.DateField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="window_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.start} – {self.end}"


class ProgrammeKind(models.TextChoices):
    """The part a meeting plays in a visit's programme (a proposal item's and a booked slot's ``kind``)."""

    WELCOME = "welcome", "Welcome"
    TOPIC = "topic", "Topic meeting"
    LUNCH = "lunch", "Lunch"
    BREAK = "break", "Break"
    WRAP_UP = "wrap-up", "Wrap-up"


class ProgrammeSlot(models.Model):
    """Puts a meeting into a visit's programme; a meeting belongs to at most one visit."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="programme")
    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="programme_slot")
    #: Set when the meeting was booked as that part (from a proposal); blank: any other meeting.
    kind = models.CharField(max_length=10, choices=ProgrammeKind.choices, blank=True, default="")

    class Meta:
        ordering = ["meeting__starts_at"]

    def __str__(self) -> str:
        return f"{self.visit.reference}: {self.meeting}"


class VisitMessage(models.Model):
    """A note from the requester (e.g. asking for another date) or from a coordinator."""

    class Kind(models.TextChoices):
        RESCHEDULE_REQUEST = "reschedule", "Asks for another date"
        NOTE = "note", "Note"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField()
    from_requester = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class ReferenceCounter(models.Model):
    """Per-year counter behind ``VIS-2026-0042``; incremented under a row lock."""

    year = models.PositiveIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)
