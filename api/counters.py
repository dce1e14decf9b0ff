"""Answers from calendar clients that wait for a coordinator (coordinators only).

    GET  /api/v1/counter-proposals/                 "propose new time" (iTIP COUNTER); ?meeting= ?visit= ?state=
    GET  /api/v1/counter-proposals/{id}/
    POST /api/v1/counter-proposals/{id}/accept/     reschedule to the proposed time (updates go out)
    POST /api/v1/counter-proposals/{id}/decline/    the person gets METHOD:DECLINECOUNTER
    GET  /api/v1/held-answers/                      answers sent from another address, delegations
    POST /api/v1/held-answers/{id}/confirm/         apply it (a delegate joins the meeting)
    POST /api/v1/held-answers/{id}/reject/

The decisions are ``notifications.replies`` services; the rescheduling is ``visits.booking``'s.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import replies
from notifications.models import CounterProposal, HeldAnswer

from .base import ApiViewSet, IsCoordinator

_Answer = TypeVar("_Answer", CounterProposal, HeldAnswer)


class CoordinatorsOnly(IsCoordinator):
    message = "Only coordinators decide on answers from calendar clients."


class CounterProposalSerializer(serializers.ModelSerializer[CounterProposal]):
    person_name = serializers.CharField(source="person.name", read_only=True)
    person_email = serializers.CharField(source="person.email", read_only=True)
    meeting_title = serializers.CharField(source="meeting.title", read_only=True)
    meeting_starts_at = serializers.DateTimeField(source="meeting.starts_at", read_only=True)
    meeting_ends_at = serializers.DateTimeField(source="meeting.ends_at", read_only=True)
    current = serializers.SerializerMethodField(help_text="Made against the meeting as it is now (same SEQUENCE)")

    class Meta:
        model = CounterProposal
        fields = ["id", "meeting", "meeting_title", "meeting_starts_at", "meeting_ends_at", "person", "person_name",
                  "person_email", "starts_at", "ends_at", "comment", "sequence", "current", "state", "decided_at",
                  "created_at"]
        read_only_fields = fields

    def get_current(self, obj: CounterProposal) -> bool:
        return obj.sequence >= obj.meeting.sequence


class HeldAnswerSerializer(serializers.ModelSerializer[HeldAnswer]):
    person_name = serializers.CharField(source="person.name", read_only=True)
    person_email = serializers.CharField(source="person.email", read_only=True)
    meeting_title = serializers.CharField(source="meeting.title", read_only=True)

    class Meta:
        model = HeldAnswer
        fields = ["id", "meeting", "meeting_title", "person", "person_name", "person_email", "kind", "answer",
                  "sender", "delegate_email", "delegate_name", "sequence", "reason", "state", "decided_at",
                  "created_at"]
        read_only_fields = fields


class AcceptInput(serializers.Serializer[Any]):
    override_availability = serializers.BooleanField(default=False, help_text="Move it even where someone is busy")


class DeclineInput(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                    help_text="Sent to the person as the DECLINECOUNTER's COMMENT")


_NUMBER = {"type": "integer", "minimum": 0, "maximum": 999_999_999_999}
_IDS = [OpenApiParameter("meeting", _NUMBER, description="Meeting id"),
        OpenApiParameter("visit", _NUMBER, description="Visit id")]
COUNTER_FILTERS = [*_IDS, OpenApiParameter("state", str, enum=list(CounterProposal.State.values))]
HELD_FILTERS = [*_IDS, OpenApiParameter("state", str, enum=list(HeldAnswer.State.values))]


class _Decisions(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet[_Answer]):
    permission_classes = [CoordinatorsOnly]
    filter_backends = []

    def get_queryset(self) -> QuerySet[_Answer]:
        assert self.queryset is not None
        qs = self.queryset.select_related("meeting", "person")
        params = self.request.query_params
        for name, lookup in (("meeting", "meeting_id"), ("visit", "meeting__programme_slot__visit_id")):
            value = params.get(name, "")
            if value:
                if not value.isdigit() or len(value) > 12:
                    raise serializers.ValidationError({name: ["A whole number."]})
                qs = qs.filter(**{lookup: int(value)})
        state = params.get("state", "")
        if state:
            states: list[str] = qs.model.State.values
            if state not in states:
                raise serializers.ValidationError({"state": [f"One of {', '.join(states)}."]})
            qs = qs.filter(state=state)
        return qs


@extend_schema(tags=["answers"])
class CounterProposalViewSet(_Decisions[CounterProposal]):
    queryset = CounterProposal.objects.all()
    serializer_class = CounterProposalSerializer

    @extend_schema(parameters=COUNTER_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AcceptInput, responses={200: CounterProposalSerializer},
                   summary="Accept: move the meeting to the proposed time")
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        data = self.validated(AcceptInput)
        counter = replies.counter_accept(counter=self.get_object(), user=request.user,
                                         override=data["override_availability"])
        return Response(CounterProposalSerializer(self.get_queryset().get(pk=counter.pk)).data)

    @extend_schema(request=DeclineInput, responses={200: CounterProposalSerializer},
                   summary="Decline: the meeting stays; the person gets METHOD:DECLINECOUNTER")
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        data = self.validated(DeclineInput)
        counter = replies.counter_decline(counter=self.get_object(), user=request.user,
                                          comment=data.get("comment", ""))
        return Response(CounterProposalSerializer(self.get_queryset().get(pk=counter.pk)).data)


@extend_schema(tags=["answers"])
class HeldAnswerViewSet(_Decisions[HeldAnswer]):
    queryset = HeldAnswer.objects.all()
    serializer_class = HeldAnswerSerializer

    @extend_schema(parameters=HELD_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: HeldAnswerSerializer},
                   summary="Confirm: record the answer (or add the delegate) as if the attendee had sent it")
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        held = replies.held_answer_confirm(held=self.get_object(), user=request.user)
        return Response(HeldAnswerSerializer(self.get_queryset().get(pk=held.pk)).data)

    @extend_schema(request=None, responses={200: HeldAnswerSerializer}, summary="Reject: the answer is not applied")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        held = replies.held_answer_reject(held=self.get_object(), user=request.user)
        return Response(HeldAnswerSerializer(self.get_queryset().get(pk=held.pk)).data)
