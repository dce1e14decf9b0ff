"""``/api/v1/external-calendars/``: people's own calendars, read for busy times only.

The URL is a secret: owner and coordinators only. Calendars are fetched by the worker only: adding
one (or changing its address) and ``sync/`` queue a sync and answer at once; ``sync`` in the answer
says whether it is queued or running.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from availability import services as availability_services
from availability.fetch import check_url_shape
from availability.models import ExternalCalendar
from directory.models import Person

from .base import OwnedViewSet
from .fields import SafePrimaryKeyRelatedField
from .filters import id_filterset


@extend_schema_field({"type": "string", "pattern": r"^(https?|webcal)://[A-Za-z0-9.-]+(:\d{1,5})?([/?#][^\s\x00]*)?$",
                     "example": "https://calendar.example.org/private/abc.ics"})
class CalendarUrlField(serializers.CharField):
    """What ``availability.fetch.check_url_shape`` takes: an http(s) or webcal address with a host, no user info."""


class ExternalCalendarSerializer(serializers.ModelSerializer[ExternalCalendar]):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all(), required=False,
                                        help_text="Person id (a host: themselves, the default)")
    url = CalendarUrlField(max_length=2000, help_text="The calendar's secret ICS address (https or webcal), "
                                                      "without a user name or password")
    sync = serializers.ChoiceField(
        choices=["idle", "queued", "running"], source="sync_state", read_only=True,
        help_text="The worker's sync of this calendar: queued, running, or idle (the result is in last_synced_at, "
                  "busy_count and last_error).")

    class Meta:
        model = ExternalCalendar
        fields = ["id", "person", "url", "sync", "last_synced_at", "last_error", "busy_count", "last_attempt_at",
                  "created_at"]
        read_only_fields = ["id", "last_synced_at", "last_error", "busy_count", "last_attempt_at", "created_at"]


class CalendarSyncThrottle(UserRateThrottle):
    """Adding a calendar, changing its address and "sync now" each queue a fetch: per user, one rate
    (``VISITDESK_THROTTLE_CALENDAR_SYNC``; the page keeps its own count under the same rate)."""

    scope = "calendar_sync"


@extend_schema(tags=["availability"])
class ExternalCalendarViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OwnedViewSet[ExternalCalendar],
):
    """People's own calendars, read for busy times only. The URL is a secret: owner and coordinators.

    Calendars are fetched by the worker only: adding one (or changing its address) and ``sync/``
    queue a sync and answer at once; ``sync`` in the answer says whether it is queued or running.
    """

    queryset = ExternalCalendar.objects.select_related("person")
    serializer_class = ExternalCalendarSerializer
    filterset_class = id_filterset(ExternalCalendar, ids=['person'])
    ordering_fields = ["created_at", "last_synced_at"]

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action in ("create", "update", "partial_update", "sync"):
            return [CalendarSyncThrottle()]
        return super().get_throttles()

    def perform_create(self, serializer: serializers.BaseSerializer[ExternalCalendar]) -> None:
        data: dict[str, Any] = serializer.validated_data
        serializer.instance = availability_services.external_calendar_add(
            person=self.person_in(data), url=check_url_shape(data["url"]))

    def perform_update(self, serializer: serializers.BaseSerializer[ExternalCalendar]) -> None:
        data: dict[str, Any] = serializer.validated_data
        calendar = serializer.instance
        assert calendar is not None
        if "person" in data and data["person"] != calendar.person:
            raise ValidationError({"person": ["A calendar cannot move to another person; add a new one."]})
        if "url" in data:
            calendar = availability_services.external_calendar_change_url(calendar=calendar,
                                                                          url=check_url_shape(data["url"]))
        serializer.instance = calendar

    def perform_destroy(self, instance: ExternalCalendar) -> None:
        availability_services.external_calendar_remove(calendar=instance)

    @extend_schema(request=None, responses={202: ExternalCalendarSerializer},
                   summary="Sync now: queue a fetch in the worker (one per calendar at a time) and answer at once")
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str) -> Response:
        """202 with the calendar as it is now and ``"sync": "queued"`` (or ``"running"``); a second
        request while one is queued or running queues nothing more. Poll the calendar for the result."""
        calendar = self.get_object()
        availability_services.external_calendar_sync_request(calendar=calendar)
        calendar.refresh_from_db()
        return Response(ExternalCalendarSerializer(calendar).data, status=202)
