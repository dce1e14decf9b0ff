"""The outbox and the record of what each person was told.

Notifications are *reconciled*, not fired: ``reconcile.py`` compares the truth (meetings,
participations, visits) with ``InviteState`` (what each person last received about each meeting) and
adds the ``OutboxMessage`` rows that are owed. ``OutboxMessage.key`` is unique, so however often the
reconciler runs, crashes or races, the same message can be owed only once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
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
    #: No longer owed (one ``ANSWER_SUMMARY`` per window instead); kept so rows sent before still read.
    COORDINATOR_RSVP_DECLINED = "coordinator_rsvp_declined", "Coordinator: RSVP declined"
    ANSWER_SUMMARY = "answer_summary", "Coordinator: the answers of one settle window"
    DECLINE_COUNTER = "decline_counter", "Counter-proposal declined (DECLINECOUNTER)"
    MAILBOX_FORWARD = "mailbox_forward", "Organiser mailbox: forwarded to a coordinator"
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
            # The dispatcher's claim query: pending rows that are due, in (due_at, id) order. The id is
            # in the index so a claim of 50 among thousands due at the same moment reads 50 entries
            # instead of sorting the whole group (tests/notifications/test_claim_index.py).
            models.Index(fields=["due_at", "id"], condition=Q(state="pending"), name="outbox_pending_due_id_idx"),
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
        # The incremental reconciler asks which meetings someone was told about since its watermark.
        indexes = [models.Index(fields=["told_at"], name="invite_state_told_idx")]

    def __str__(self) -> str:
        return f"{self.person_id}/{self.meeting_id}: {self.method} #{self.sequence}"


# --- what arrives in the organiser mailbox (notifications.mailbox, notifications.itip_in) ----------


class InboundMessage(models.Model):
    """One message taken from the organiser mailbox, recorded *before* it is moved out of the inbox.

    ``fingerprint`` (the Message-ID and a hash of the body, which relays do not change) is unique: a
    message read again after a crash between recording and moving, or delivered twice, is recognised
    and only moved — its answers are never applied twice.
    """

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Answer recorded"
        HELD = "held", "Held for a coordinator"
        COUNTER = "counter", "Counter-proposal stored"
        IGNORED = "ignored", "Ignored (stale, cancelled or unknown)"
        REFUSED = "refused", "Refused: not a readable calendar (kept for a person)"
        NOT_ITIP = "not_itip", "Not a calendar answer (left for a person)"

    fingerprint = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=500, blank=True)
    mailbox_uid = models.CharField(max_length=100, blank=True, help_text="folder:UIDVALIDITY:UID when taken")
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True, help_text="What was decided, one line per attendee")
    #: The message as received, kept only when a person must see it (refused, forwarded).
    raw = models.BinaryField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "message from the organiser mailbox"
        verbose_name_plural = "messages from the organiser mailbox"

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject} ({self.outcome})"


class HeldAnswer(models.Model):
    """An answer from a calendar client that is not applied until a coordinator confirms it: the From
    address does not match the attendee it speaks for (and no SENT-BY allows it), or the attendee
    delegated to someone else (DELEGATED-TO), who would become a new participant."""

    class Kind(models.TextChoices):
        ANSWER = "answer", "Answer from another address"
        DELEGATION = "delegation", "Delegated to someone else"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a coordinator"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    inbound = models.ForeignKey(InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="held")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="held_answers")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="held_answers",
                               help_text="The attendee the answer speaks for")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    answer = models.CharField(max_length=12, blank=True, help_text="accepted, declined or tentative")
    sender = models.CharField(max_length=320, help_text="The From address of the mail")
    delegate_email = models.EmailField(blank=True)
    delegate_name = models.CharField(max_length=200, blank=True)
    sequence = models.PositiveIntegerField(default=0, help_text="The SEQUENCE the answer was given to")
    reason = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "meeting"], name="held_answer_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.person_id} on {self.meeting_id} ({self.state})"


class CounterProposal(models.Model):
    """"Propose new time" from a calendar client (iTIP COUNTER): a coordinator accepts it (the meeting is
    rescheduled through ``visits.booking``, updates go out) or declines it (the person gets
    METHOD:DECLINECOUNTER)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a coordinator"
        ACCEPTED = "accepted", "Accepted (meeting moved)"
        DECLINED = "declined", "Declined (DECLINECOUNTER sent)"

    inbound = models.ForeignKey(InboundMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="counters")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="counter_proposals")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="counter_proposals")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    sequence = models.PositiveIntegerField(default=0, help_text="The SEQUENCE the proposal was made against")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                              name="counter_ends_after_start")]
        indexes = [models.Index(fields=["state", "meeting"], name="counter_state_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} proposes {self.starts_at:%Y-%m-%d %H:%M} for {self.meeting_id} ({self.state})"
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
        indexes = [models.Index(fields=["told_at"], name="programme_state_told_idx")]

    def __str__(self) -> str:
        return f"{self.person_id}/visit {self.visit_id}: r{self.revision}"


# --- the incremental reconciler (notifications.reconcile.reconcile_changes) -----------------------


class ReconcileMark(models.Model):
    """How far the reconciler has looked (one row, pk 1).

    ``changes_until``: every change stamped before it (less a small overlap for transactions that
    committed late) has been reconciled; it moves only after the work it covers is done, so a crash in
    between makes the next run redo that work, never skip it. ``full_at``: the last full pass, the
    safety net that runs every few minutes whatever the watermark says.
    """

    changes_until = models.DateTimeField()
    full_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"changes until {self.changes_until:%Y-%m-%d %H:%M:%S}, full pass {self.full_at:%H:%M:%S}"


class ReconcileDirty(models.Model):
    """A meeting or visit announced as changed after its transaction committed (``schedule_changed``,
    ``visit_changed``). The watermark finds almost every change by its ``updated_at``; this catches a
    long transaction whose rows were stamped before a watermark that moved on while it ran. Deleted
    once the reconciler has done the work. Plain ids: the subject may be gone by then."""

    meeting_id = models.PositiveBigIntegerField(null=True, blank=True)
    visit_id = models.PositiveBigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"meeting {self.meeting_id}" if self.meeting_id else f"visit {self.visit_id}"
