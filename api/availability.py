"""``/api/v1/availability/``: free-slot search and busy intervals (the planner's shading).

Who may ask what: coordinators about anyone; a host about themselves and any room; nobody else.
A person's working hours are ``api/working_hours.py``; absences, room closures and imported
calendars have modules of their own.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from availability.selectors import busy_intervals, free_slots
from core.timezones import check_timezone, timezone_names
from directory.models import Person
from events.models import Room

from .base import ApiViewSet, caller_person, is_coordinator
from .fields import DATETIME_PATTERN, AwareDateTimeField

#: The longest window one search may cover; a quarter is more than any programme needs.
MAX_WINDOW = timedelta(days=92)


def _id_list(raw: str | None, field: str) -> list[int]:
    if not raw:
        return []
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part.isdigit() or len(part) > 18:
            raise ValidationError({field: [f"Give ids separated by commas, e.g. {field}=1,2 (got {part!r})."]})
        ids.append(int(part))
    if len(ids) > 50:
        raise ValidationError({field: ["At most 50 ids per request."]})
    return sorted(set(ids))


def _minutes(raw: str | None, field: str, *, default: int | None, low: int, high: int) -> int:
    if raw is None or raw == "":
        if default is None:
            raise ValidationError({field: ["This parameter is required (minutes)."]})
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError({field: [f"Give whole minutes between {low} and {high}."]})
    return int(raw)


def _zone(raw: str | None, request: Request) -> str:
    if raw is None or raw == "":
        person = caller_person(request.user)
        return person.timezone if person else str(settings.VISITDESK_DEFAULT_TIMEZONE)
    return check_timezone(raw)


def _instant(raw: str | None, field: str) -> datetime:
    if raw is None or raw == "":
        raise ValidationError({field: ["This parameter is required (ISO 8601 with offset)."]})
    try:
        value = AwareDateTimeField().run_validation(raw)
    except serializers.ValidationError as exc:
        raise ValidationError({field: exc.detail}) from None
    assert isinstance(value, datetime)
    return value


class WindowQuery:
    """The shared parameters: who, which rooms, which window; checked for existence and permission."""

    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.people = _id_list(params.get("people"), "people")
        self.rooms = _id_list(params.get("rooms"), "rooms")
        self.start = _instant(params.get("start"), "start")
        self.end = _instant(params.get("end"), "end")
        self.timezone = _zone(params.get("timezone"), request)
        if self.end <= self.start:
            raise ValidationError({"end": ["The window must end after it starts."]})
        if self.end - self.start > MAX_WINDOW:
            raise ValidationError({"end": [f"The window may be at most {MAX_WINDOW.days} days long."]})
        if not self.people and not self.rooms:
            raise ValidationError({"people": ["Name at least one person or room."]})
        self._check_exist(request)

    def _check_exist(self, request: Request) -> None:
        if not is_coordinator(request.user):
            me = caller_person(request.user)
            if me is None:
                raise PermissionDenied("Only coordinators and hosts may search availability.")
            others = [pk for pk in self.people if pk != me.pk]
            if others:
                raise PermissionDenied("Hosts may only ask about themselves (and rooms).")
        missing = set(self.people) - set(Person.objects.filter(pk__in=self.people).values_list("pk", flat=True))
        if missing:
            raise ValidationError({"people": [f"No person with id {', '.join(map(str, sorted(missing)))}."]})
        missing = set(self.rooms) - set(Room.objects.filter(pk__in=self.rooms).values_list("pk", flat=True))
        if missing:
            raise ValidationError({"rooms": [f"No room with id {', '.join(map(str, sorted(missing)))}."]})

    def local(self, value: datetime) -> str:
        return value.astimezone(zoneinfo.ZoneInfo(self.timezone)).isoformat()

    def intervals(self, spans: Iterable[tuple[datetime, datetime]]) -> list[dict[str, str]]:
        return [{"starts_at": self.local(a), "ends_at": self.local(b)} for a, b in spans]


#: Up to 50 ids, comma-separated.
ID_LIST = {"type": "string", "pattern": r"^(\d{1,18}(,\d{1,18}){0,49})?$", "example": "1,2"}
INSTANT = {"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN, "example": "2026-12-01T08:00:00+01:00"}
WINDOW_PARAMS = [
    OpenApiParameter("people", ID_LIST, description="Person ids, comma-separated, at most 50 (a host: only their own). "
                     "Name at least one person or room."),
    OpenApiParameter("rooms", ID_LIST, description="Room ids, comma-separated, at most 50"),
    OpenApiParameter("start", INSTANT, required=True, description="ISO 8601 with offset"),
    OpenApiParameter("end", INSTANT, required=True,
                     description="ISO 8601 with offset; after start, at most 92 days after it"),
    OpenApiParameter("timezone", {"type": "string", "enum": sorted(timezone_names())},
                     description="IANA zone for the answer's times (default: the caller's own zone)"),
]


def _minutes_param(name: str, *, required: bool, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "integer", "minimum": 5, "maximum": 24 * 60}, required=required,
                            description=description)


class SlotSerializer(serializers.Serializer[Any]):
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()
    rooms = serializers.ListField(child=serializers.IntegerField())


class SlotsSerializer(serializers.Serializer[Any]):
    timezone = serializers.CharField()
    slots = SlotSerializer(many=True)


class IntervalSerializer(serializers.Serializer[Any]):
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()


class BusySerializer(serializers.Serializer[Any]):
    people = serializers.DictField(child=IntervalSerializer(many=True))
    rooms = serializers.DictField(child=IntervalSerializer(many=True))


@extend_schema(tags=["availability"])
class AvailabilityViewSet(ApiViewSet[Person]):
    singleton = True
    collection_name = "availability"
    permission_classes = [IsAuthenticated]
    pagination_class = None
    filter_backends = []

    @extend_schema(
        parameters=[
            *WINDOW_PARAMS,
            _minutes_param("duration", required=True, description="Slot length in minutes"),
            _minutes_param("granularity", required=False, description="Minutes between slot starts (default 15)"),
        ],
        responses={200: SlotsSerializer},
        summary="Free slots: every listed person free and, if rooms are listed, at least one of them",
    )
    def retrieve(self, request: Request) -> Response:
        query = WindowQuery(request)
        duration = _minutes(request.query_params.get("duration"), "duration", default=None, low=5, high=24 * 60)
        granularity = _minutes(request.query_params.get("granularity"), "granularity", default=15, low=5, high=24 * 60)
        slots = free_slots(people=query.people, rooms=query.rooms, start=query.start, end=query.end,
                           duration=timedelta(minutes=duration), granularity=timedelta(minutes=granularity),
                           tz=query.timezone)
        return Response({
            "timezone": query.timezone,
            "slots": [
                {"starts_at": query.local(slot.starts_at), "ends_at": query.local(slot.ends_at), "rooms": slot.rooms}
                for slot in slots
            ],
        })

    @extend_schema(
        parameters=[
            *WINDOW_PARAMS,
            OpenApiParameter("exclude_meetings", ID_LIST,
                             description="Meeting ids to ignore (e.g. the one being moved), comma-separated"),
        ],
        responses={200: BusySerializer},
        summary="Merged busy intervals per person and room (for the planner)",
    )
    @action(detail=False, methods=["get"])
    def busy(self, request: Request) -> Response:
        query = WindowQuery(request)
        exclude = _id_list(request.query_params.get("exclude_meetings"), "exclude_meetings")
        busy = busy_intervals(people=query.people, rooms=query.rooms, start=query.start, end=query.end,
                              exclude_meetings=exclude)
        return Response({
            "timezone": query.timezone,
            "people": {str(pk): query.intervals(spans) for pk, spans in busy.people.items()},
            "rooms": {str(pk): query.intervals(spans) for pk, spans in busy.rooms.items()},
        })
