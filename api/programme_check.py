"""The programme check in API answers: each rule of ``visits.rules``, kept or why not.

A proposal's answer carries the check of the programme it would give (``scheduling.check``); a
single meeting's answer (read, create, change, reschedule, cancel, RSVP) carries the check of the
visit programme it belongs to, so the planner can say which rules a hand edit broke — the edit is
saved all the same. Lists leave it out (``null``): checking one programme per row would cost a
handful of queries each. The sentences are in the reader's language (``Accept-Language``), like the
proposal's reasons; ``visits.rules`` itself defaults to the visit's language.

The check reads the rest of the programme and everyone's availability; a meeting's ETag covers the
meeting only, so a ``304 Not Modified`` says nothing about whether the check changed since.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Meeting
from scheduling.check import proposal_check
from scheduling.models import Proposal
from visits import rules


class ViolationSerializer(serializers.Serializer[Any]):
    rule = serializers.ChoiceField(choices=list(rules.RULE_IDS))
    entries = serializers.ListField(child=serializers.CharField(), help_text=(
        'What breaks it: "meeting-<id>" for a booked meeting, "item-<id>" for a proposal item'))
    people = serializers.ListField(child=serializers.IntegerField(), help_text="The people it concerns (ids)")
    message = serializers.CharField(help_text="One sentence in the request's language")


class RuleCheckSerializer(serializers.Serializer[Any]):
    rule = serializers.ChoiceField(choices=list(rules.RULE_IDS), help_text="The rule's id (visits.rules)")
    title = serializers.CharField(help_text="The rule in the request's language")
    kept = serializers.BooleanField()
    violations = ViolationSerializer(many=True)


def rule_results(results: list[rules.RuleResult]) -> list[dict[str, Any]]:
    return [r.to_json() for r in results]


@extend_schema_field(RuleCheckSerializer(many=True))
class ProposalCheckField(serializers.Field[Any, Any, Any, Proposal]):
    """Every rule for the programme the proposal would give (its items and the visit's booked meetings)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Proposal) -> list[dict[str, Any]]:
        return rule_results(proposal_check(value, language=get_language()))


@extend_schema_field(RuleCheckSerializer(many=True, allow_null=True))
class MeetingCheckField(serializers.Field[Any, Any, Any, Meeting]):
    """Every rule for the visit programme the meeting is part of; null outside a programme and in lists."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Meeting) -> list[dict[str, Any]] | None:
        if not self.context.get("programme_check"):
            return None
        results = rules.meeting_check(value, language=get_language())
        return rule_results(results) if results is not None else None
