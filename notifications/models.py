"""The outbox and the record of what each person was told.

Notifications are *reconciled*, not fired: ``reconcile.py`` compares the truth (meetings,
participations, visits) with ``InviteState`` (what each person last received about each meeting) and
adds the ``OutboxMessage`` rows that are owed. ``OutboxMessage.key`` is unique, so however often the
reconciler runs, crashes or races, the same message can be owed only once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from directory.models import Person
from events.models import Meeting
from visits.models import Visit


class Kind(models.TextChoices):
    INVITE = "invite", "Invite (REQUEST)"
    UPDATE = "update", "Update (REQUEST, higher SEQUENCE)"
    CANCEL = "cancel", "Cancellation (CANCEL)"
    REMINDER = "reminder", "Meeting reminder"
    VISIT_REMINDER = "visit_reminder", "Visit reminder"
    VISIT_ACK = "visit_ack", "Visit request received"
    VISIT_CONFIRMED = "visit_confirmed", "Visit confirmed"
    VISIT_DECLINED = "visit_declined", "Visit declined"
    VISIT_CANCELLED = "visit_cancelled", "Visit cancelled"
    COORDINATOR_NEW_REQUEST = "coordinator_new_request", "Coordinator: new request"
    COORDINATOR_RSVP_DECLINED = "coordinator_rsvp_declined", "Coordinator: RSVP declined"
    PROGRAMME = "programme", "Programme (PDF and .ics) to the delegation"
    PROGRAMME_UPDATE = "programme_update", "Programme updated (what changed, PDF and .ics)"


#: Kinds that carry an iMIP calendar object.
IMIP_KINDS = frozenset({Kind.INVITE, Kind.UPDATE, Kind.CANCEL})
#: Kinds that carry a visit's whole programme to one delegation member or the requester.
PROGRAMME_KINDS = frozenset({Kind.PROGRAMME, Kind.PROGRAMME_UPDATE})


class OutboxMessage(models.Model):
    # Not columns: set on a claimed row by compose (``wanted`` by ``preload``; the rest by the iMIP
    # builder) for dispatch to record in InviteState once the mail is sent.
    wanted: bool
    reset_partstat: bool
    built_at: datetime
    rendered_sequence: int
    rendered_uid: str
    rendered_role: str

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    key = models.CharField(max_length=200, unique=True, help_text="What makes this message unique")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="outbox_messages")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    #: For invites/updates/cancels: the SEQUENCE the message was owed for; for reminders: the offset.
    sequence = models.PositiveIntegerField(null=True, blank=True)
    offset_minutes = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = "outbox message"
        indexes = [
            # The dispatcher's claim query: pending rows that are due, oldest first.
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="outbox_pending_due_idx"),
            models.Index(fields=["state", "claimed_at"], name="outbox_state_claimed_idx"),
            models.Index(fields=["person", "meeting", "kind"], name="outbox_person_meeting_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.person_id} ({self.state})"


class InviteState(models.Model):
    """What one person was last told about one meeting (RFC 5546: the attendee's view of it).

    Written in the same transaction that marks the invite/update/cancel message sent, so it can never
    claim more than was delivered.
    """

    class Method(models.TextChoices):
        REQUEST = "REQUEST", "REQUEST"
        CANCEL = "CANCEL", "CANCEL"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="invite_states")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invite_states")
    uid = models.CharField(max_length=255)
    sequence = models.PositiveIntegerField()
    method = models.CharField(max_length=8, choices=Method.choices)
    role = models.CharField(max_length=10, blank=True, help_text="Role when last told (for a CANCEL after removal)")
    #: Rises with every message told; part of the outbox key so a re-invite after a CANCEL is a new message.
    revision = models.PositiveIntegerField(default=1)
    told_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("person", "meeting", name="invite_state_unique_person_meeting")]

    def __str__(self) -> str:
        return f"{self.person_id}/{self.meeting_id}: {self.method} #{self.sequence}"


class ProgrammeState(models.Model):
    """What one delegation member (or the requester) was last told about a visit's programme.

    ``meetings`` maps each meeting id the mail's .ics held to ``[SEQUENCE, "scheduled" | "cancelled"]``;
    ``fingerprint`` is a hash of it. The reconciler owes a programme mail whenever the programme as the
    person should see it now hashes differently, and the next mail's "what changed" is the difference
    between ``meetings`` and now. Written in the same transaction that marks the mail sent, so it never
    claims more than was delivered; ``revision`` rises with every mail and is part of the outbox key.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="programme_states")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    meetings = models.JSONField(default=dict)
    revision = models.PositiveIntegerField(default=1)
    told_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint("person", "visit", name="programme_state_unique_person_visit")]

    def __str__(self) -> str:
        return f"{self.person_id}/visit {self.visit_id}: r{self.revision}"
