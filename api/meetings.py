"""``/api/v1/meetings/``: meetings, in a visit's programme or standalone.

Every change goes through ``visits.booking`` (which owns its transaction, the availability and overlap
checks, the override and the ``If-Match`` guard on the locked row): this module checks the body's
shape, makes one call and renders the meeting with its ETag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import F, QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from events.models import Meeting, Participation
from events.selectors import meeting_list
from visits import booking

from . import serializers as s
from . import visibility
from .base import (
    IDEMPOTENCY_PARAM,
    IF_MATCH_PARAM,
    IsParticipantOrCoordinator,
    ScopedViewSet,
    idempotent,
    if_match_guard,
    with_etag,
)
from .filters import MeetingFilter

MEETING_EXAMPLE = OpenApiExample(
    "Programme meeting",
    value={
        "title": "Stem cell lab tour",
        "starts_at": "2026-12-01T10:00:00+01:00",
        "ends_at": "2026-12-01T11:00:00+01:00",
        "timezone": "Europe/Berlin",
        "room": 1,
        "kind": "tour",
        "visit": None,
        "participants": [{"person": 1, "role": "host"}],
        "agenda_items": [{"title": "Welcome", "topic": None, "presenter": 1, "minutes": 10}],
    },
    request_only=True,
)
CONFLICT_EXAMPLE = OpenApiExample(
    "Double booking",
    status_codes=["409"],
    response_only=True,
    value={
        "error": {
            "code": "schedule_conflict",
            "message": "Overlaps with “Lab tour” (room Lab 1 is booked).",
            "conflicts": [
                {"id": 7, "uid": "…@visitdesk", "title": "Lab tour", "starts_at": "2026-12-01T09:00:00+00:00",
                 "ends_at": "2026-12-01T10:00:00+00:00", "reason": "room Lab 1 is booked"}
            ],
        }
    },
)
#: The meeting's own fields in the input; the rest (participants, agenda, visit, override) are arguments of their own.
FIELD_NAMES = ("title", "description", "starts_at", "ends_at", "timezone", "room", "location", "online_url", "kind", "event")


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in FIELD_NAMES}


def _participants(data: Iterable[Mapping[str, Any]]) -> list[booking.ParticipantSpec]:
    return [booking.ParticipantSpec(person=p["person"], role=p["role"]) for p in data]


def _agenda(data: Iterable[Mapping[str, Any]]) -> list[booking.AgendaSpec]:
    return [
        booking.AgendaSpec(
            title=a["title"], topic=a.get("topic"), presenter=a.get("presenter"), minutes=a.get("minutes"),
            notes=a.get("notes", ""),
        )
        for a in data
    ]


@extend_schema_view(
    list=extend_schema(summary="Meetings (filter by date range, room, person, visit, status)"),
    retrieve=extend_schema(summary="One meeting with participants and agenda"),
    create=extend_schema(
        request=s.MeetingInputSerializer, responses={201: s.MeetingSerializer},
        parameters=[IDEMPOTENCY_PARAM], examples=[MEETING_EXAMPLE, CONFLICT_EXAMPLE],
        summary="Create a meeting (with `visit`: in that visit's programme)",
    ),
    update=extend_schema(request=s.MeetingInputSerializer, responses={200: s.MeetingSerializer},
                         parameters=[IF_MATCH_PARAM], examples=[CONFLICT_EXAMPLE]),
    partial_update=extend_schema(request=s.MeetingInputSerializer, responses={200: s.MeetingSerializer},
                                 parameters=[IF_MATCH_PARAM], examples=[CONFLICT_EXAMPLE]),
)
@extend_schema(tags=["meetings"])
class MeetingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet[Meeting]):
    serializer_class = s.MeetingSerializer
    visible_ids = staticmethod(visibility.meeting_ids)
    conditional_writes = True  # ETag on reads, If-Match on writes (api.base, "preconditions")
    filterset_class = MeetingFilter
    ordering_fields = ["starts_at", "ends_at", "title", "updated_at"]

    def base_queryset(self) -> QuerySet[Meeting]:
        if self.action == "list":  # bare rows: the list serializer reads relations per page (MeetingListSerializer)
            return Meeting.objects.annotate(listed_visit_id=F("programme_slot__visit_id"))
        return meeting_list().select_related("programme_slot")

    def get_serializer_context(self) -> dict[str, Any]:
        # One meeting's answer carries its programme's check (api/programme_check.py); lists do not.
        return {**super().get_serializer_context(), "programme_check": self.action != "list"}

    def _booker(self) -> booking.Booker:
        return booking.Booker(coordinator=self.coordinator)

    def _respond(self, meeting: Meeting, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=meeting.pk)
        data = s.MeetingSerializer(fresh, context=self.get_serializer_context()).data
        return with_etag(Response(data, status=code), fresh)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = self.get_object()
        return with_etag(Response(self.get_serializer(meeting).data), meeting)

    @idempotent("meeting")
    def create(self, request: Request) -> Response:
        data = self.validated(s.MeetingInputSerializer)
        meeting = booking.meeting_create(
            visit=data.get("visit"), participants=_participants(data.get("participants", [])),
            agenda_items=_agenda(data.get("agenda_items", [])), override=data.get("override_availability", False),
            booker=self._booker(), **_fields(data),
        )
        return self._respond(meeting, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, partial: bool = False, **kwargs: Any) -> Response:
        meeting = self.get_object()
        serializer = s.MeetingInputSerializer(meeting, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = booking.meeting_change(
            meeting=meeting, changes=_fields(data),
            participants=_participants(data["participants"]) if "participants" in data else None,
            agenda_items=_agenda(data["agenda_items"]) if "agenda_items" in data else None,
            visit=data.get("visit", booking.UNCHANGED),
            override=data.get("override_availability", False), booker=self._booker(),
            guard=if_match_guard(request),
        )
        return self._respond(meeting)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(request=s.RescheduleSerializer, responses={200: s.MeetingSerializer},
                   examples=[CONFLICT_EXAMPLE], summary="Move a meeting to another time")
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        meeting = self.get_object()
        data = self.validated(s.RescheduleSerializer)
        meeting = booking.meeting_reschedule(
            meeting=meeting, starts_at=data["starts_at"], ends_at=data["ends_at"],
            override=data.get("override_availability", False), booker=self._booker(),
            guard=if_match_guard(request),
        )
        return self._respond(meeting)

    @extend_schema(request=None, responses={200: s.MeetingSerializer}, summary="Cancel a meeting (idempotent)")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        meeting = booking.meeting_cancel(meeting=self.get_object(), guard=if_match_guard(request))
        return self._respond(meeting)

    @extend_schema(request=s.RsvpSerializer, responses={200: s.MeetingSerializer},
                   summary="Answer an invitation: accepted, declined or tentative")
    @action(detail=True, methods=["post"], permission_classes=[IsParticipantOrCoordinator])
    def rsvp(self, request: Request, pk: str) -> Response:
        meeting = self.get_object()
        data = self.validated(s.RsvpSerializer)
        me = self.caller
        person = data.get("person") or me
        if person is None:
            raise ValidationError({"person": ["Say whose answer this is."]})
        if person != me and not self.coordinator:
            raise PermissionDenied("You can only answer for yourself.")
        participation = Participation.objects.filter(meeting=meeting, person=person).first()
        if participation is None:
            raise ValidationError({"person": ["This person does not take part in the meeting."]})
        booking.meeting_answer(participation=participation, answer=data["rsvp"])
        return self._respond(meeting)
