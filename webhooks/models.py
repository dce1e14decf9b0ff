"""Endpoints, the events they are told about, and the delivery outbox with its log.

The shape follows ``notifications``: what happened is *observed* (``services.observe``: the truth
compared with ``WebhookSubject``, what webhooks last announced about a meeting or a visit), each
event becomes one ``WebhookDelivery`` per subscribed endpoint (unique per endpoint and event), and
the worker claims, signs and sends due deliveries (``delivery.py``), at least once, with back-off.
Every attempt is kept (``WebhookAttempt``: status code or error), so a coordinator sees what the
receiver answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    """What an endpoint may subscribe to; the value is the payload's ``type``."""

    VISIT_REQUESTED = "visit.requested", "Visit requested"
    VISIT_CONFIRMED = "visit.confirmed", "Visit confirmed"
    VISIT_CANCELLED = "visit.cancelled", "Visit cancelled"
    PROGRAMME_BOOKED = "programme.booked", "Programme booked"
    PROGRAMME_CHANGED = "programme.changed", "Programme changed"
    MEETING_CREATED = "meeting.created", "Meeting created"
    MEETING_CHANGED = "meeting.changed", "Meeting changed"
    MEETING_CANCELLED = "meeting.cancelled", "Meeting cancelled"
    ANSWER_RECEIVED = "answer.received", "Answer received (RSVP or calendar reply)"


#: The "send test event" action's type: sent to one endpoint on request, never subscribed to.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """A coordinator's receiver. The secret signs every delivery (Standard Webhooks ``whsec_…``); it
    is shown once, on creation or rotation. After a rotation the previous secret signs too, until
    ``previous_secret_until``, so a receiver can switch without losing a message."""

    url = models.URLField(max_length=2000, help_text="Where deliveries are POSTed (public http(s) address)")
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="The event types this endpoint receives")
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True, help_text="Disabled endpoints receive nothing but test events")
    #: Start of the current run of failed attempts (cleared by any success): a day of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """One thing that happened, as every endpoint receives it: ``{"type", "version", "timestamp", "data"}``.

    ``webhook_id`` is the Standard Webhooks message id: the same on every attempt and for every
    endpoint, so a receiver can drop a message it has already processed."""

    webhook_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40)
    version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField()
    #: ``meeting:12`` or ``visit:3``: what the event is about (for the admin's search).
    subject = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["subject"], name="webhook_event_subject_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.subject} ({self.webhook_id})"


class WebhookDelivery(models.Model):
    """One event owed to one endpoint: the outbox row the worker claims, sends and retries."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint("endpoint", "event", name="webhook_delivery_once_per_endpoint")]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="webhook_delivery_due_idx"),
            models.Index(fields=["state", "claimed_at"], name="webhook_delivery_claimed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what the receiver answered (a status code) or why there was no answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error[:40]}"


class WebhookSubject(models.Model):
    """What webhooks last announced about one meeting or visit (the reconciler's memory).

    Comparing the truth with ``seen`` says which events are owed; the row is locked while an event is
    derived, so two workers observing the same change emit it once."""

    class Kind(models.TextChoices):
        MEETING = "meeting", "Meeting"
        VISIT = "visit", "Visit"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    seen = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint("kind", "object_id", name="webhook_subject_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"
