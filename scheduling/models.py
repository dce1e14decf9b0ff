"""Stored programme proposals: what the solver suggested for a visit, item by item, with its reasons.

A proposal is a draft the coordinator can pin, trim and re-solve before accepting; accepting books its
items as real meetings (``ProposalItem.meeting``). Each item keeps the problem it stands for
(``spec``, a ``values.ItemSpec``: duration, required and optional people, windows, host and experts) so a
re-solve or a repair needs neither the visit's topics nor the experts to be looked up again, and the part it
plays (``kind``: welcome, topic, lunch, break, wrap-up) as a field, never guessed from its title.
"""

from __future__ import annotations

from django.db import models
from django.utils import translation

from directory.models import Person, Topic
from events.models import Meeting, Room
from visits.models import ProgrammeKind, Visit

from .fields import FrameField, ItemSpecField, ParticipantsField, RepairPlanField


class Proposal(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACCEPTED = "accepted", "Accepted"
        DISCARDED = "discarded", "Discarded"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="proposals")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    solver_status = models.CharField(max_length=12, blank=True)
    objective = models.JSONField(default=dict, blank=True)
    #: The problem's frame (``values.Frame``): days, day bounds, grid, time zone, rooms, order rules, delegation.
    settings = FrameField()
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    #: The latest repair plan (``values.RepairPlan``): a preview waiting for the coordinator's
    #: confirmation, or, once ``applied_at`` is set, what the last repair changed.
    repair = RepairPlanField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Proposal {self.pk} for {self.visit.reference}"


class ProposalItem(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=60)
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    #: The part it plays in the programme; booked, it becomes the programme slot's ``kind``.
    kind = models.CharField(max_length=10, choices=ProgrammeKind.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: Null while the solver could not place it (``reason`` says why).
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    location = models.CharField(max_length=300, blank=True)
    participants = ParticipantsField(default=tuple, blank=True, help_text='[{"person": id, "role": "host"}]')
    #: What the solver needs (``values.ItemSpec``).
    spec = ItemSpecField()
    #: Why it is where it is (or why not), in English; ``reasons`` holds it per language code.
    reason = models.TextField(blank=True)
    reasons = models.JSONField(default=dict, blank=True, help_text='{"en": "…", "de": "…"}')
    #: Which rule kept it out of the programme while unplaced (``scheduling.problem.Unplaced.rule``).
    blocked_by = models.CharField(max_length=30, blank=True)
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

    @property
    def meeting_kind(self) -> str:
        """The kind of meeting it is booked as: lunch a meal, a break a break, everything else a meeting."""
        return MEETING_KINDS.get(self.kind, Meeting.Kind.MEETING)


#: The meeting kind each part of a programme is booked as (anything not listed: a meeting).
MEETING_KINDS: dict[str, str] = {ProgrammeKind.LUNCH: Meeting.Kind.MEAL, ProgrammeKind.BREAK: Meeting.Kind.BREAK}
