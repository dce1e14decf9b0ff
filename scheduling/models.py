"""Stored programme proposals: what the solver suggested for a visit, item by item, with its reasons.

A proposal is a draft the coordinator can pin, trim and re-solve before accepting; accepting books its
items as real meetings (``ProposalItem.meeting``). Each item keeps the problem it stands for
(``spec``: duration, required and optional people, candidate rooms, windows) so a re-solve or a
repair needs neither the visit's topics nor the experts to be looked up again.
"""

from __future__ import annotations

from django.db import models
from django.utils import translation

from directory.models import Person, Topic
from events.models import Meeting, Room
from visits.models import Visit


class Proposal(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACCEPTED = "accepted", "Accepted"
        DISCARDED = "discarded", "Discarded"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="proposals")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    solver_status = models.CharField(max_length=12, blank=True)
    objective = models.JSONField(default=dict, blank=True)
    #: The problem's frame: days, day bounds, grid, time zone, rooms, order rules, delegation.
    settings = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Proposal {self.pk} for {self.visit.reference}"


class ProposalItem(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=60)
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Meeting.Kind.choices, default=Meeting.Kind.MEETING)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: Null while the solver could not place it (``reason`` says why).
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.CharField(max_length=300, blank=True)
    participants = models.JSONField(default=list, blank=True, help_text='[{"person": id, "role": "host"}]')
    spec = models.JSONField(default=dict, blank=True)
    #: Why it is where it is (or why not), in English; ``reasons`` holds it per language code.
    reason = models.TextField(blank=True)
    reasons = models.JSONField(default=dict, blank=True, help_text='{"en": "…", "de": "…"}')
    pinned = models.BooleanField(default=False)
    removed = models.BooleanField(default=False)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["proposal", "starts_at", "position", "id"]
        constraints = [models.UniqueConstraint("proposal", "key", name="proposal_item_unique_key")]

    def __str__(self) -> str:
        return self.title

    @property
    def reason_text(self) -> str:
        """The reason in the active language (the reader's), else the English one."""
        language = translation.get_language() or "en"
        return self.reasons.get(language) or self.reasons.get(language.split("-")[0]) or self.reason

    @property
    def placed(self) -> bool:
        return self.starts_at is not None
