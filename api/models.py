"""Idempotency keys for the API's create endpoints.

A client that retries ``POST /visit-requests/`` or ``POST /meetings/`` after a timeout must not book
twice. The first request with a key claims a row (the unique constraint decides the winner even under
concurrent duplicates), runs, and stores its answer; a repeat with the same key and the same body gets
that stored answer back, a repeat with another body is refused.
"""

from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    #: Who sent it: ``user:<id>`` or ``anon:<client address>``; keys never collide across callers.
    scope = models.CharField(max_length=100)
    #: Which endpoint ("visit-request", "meeting"): one key may not be reused for another operation.
    endpoint = models.CharField(max_length=50)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body")
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("scope", "endpoint", "key", name="idempotency_key_unique_per_caller"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.endpoint} {self.key}"
