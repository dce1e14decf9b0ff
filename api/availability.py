"""API for availability: free-slot search, busy intervals, working hours, absences, closures, calendars.

Who may ask what: coordinators about anyone; a host about themselves and any room; nobody else.
Absence reasons are shown to coordinators only (a host sees their own), and an imported calendar's
URL (a secret address) only to its owner and coordinators.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from availability import services as availability_services
from availability.selectors import busy_intervals, free_slots
from directory.models import Person
from events.models import Meeting, Participation, Room

from .fields import AwareDateTimeField
from .permissions import caller_person, is_coordinator
from .views import ApiMixin

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
    if raw in (None, ""):
        if default is None:
            raise ValidationError({field: ["This parameter is required (minutes)."]})
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError({field: [f"Give whole minutes between {low} and {high}."]})
    return int(raw)


def _zone(raw: str | None, request) -> str:
    if raw in (None, ""):
        person = caller_person(request.user)
        return person.timezone if person else settings.VISITDESK_DEFAULT_TIMEZONE
    if raw not in zoneinfo.available_timezones():
        raise ValidationError({"timezone": [f"{raw[:64]!r} is not an IANA time zone name (e.g. Europe/Berlin)."]})
    return raw


def _instant(raw: str | None, field: str) -> datetime:
    if raw in (None, ""):
        raise ValidationError({field: ["This parameter is required (ISO 8601 with offset)."]})
    try:
        return AwareDateTimeField().run_validation(raw)
    except serializers.ValidationError as exc:
        raise ValidationError({field: exc.detail}) from None


class WindowQuery:
    """The shared parameters: who, which rooms, which window; checked for existence and permission."""

    def __init__(self, request):
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

    def _check_exist(self, request) -> None:
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


WINDOW_PARAMS = [
    OpenApiParameter("people", OpenApiTypes.STR, description="Person ids, comma-separated (a host: only their own)"),
    OpenApiParameter("rooms", OpenApiTypes.STR, description="Room ids, comma-separated"),
    OpenApiParameter("start", OpenApiTypes.DATETIME, required=True, description="ISO 8601 with offset"),
    OpenApiParameter("end", OpenApiTypes.DATETIME, required=True, description="ISO 8601 with offset; ≤ 92 days"),
    OpenApiParameter("timezone", OpenApiTypes.STR,
                     description="IANA zone for the answer's times (default: the caller's own zone)"),
]


class SlotSerializer(serializers.Serializer):
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()
    rooms = serializers.ListField(child=serializers.IntegerField())


class SlotsSerializer(serializers.Serializer):
    timezone = serializers.CharField()
    slots = SlotSerializer(many=True)


class IntervalSerializer(serializers.Serializer):
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()


class BusySerializer(serializers.Serializer):
    people = serializers.DictField(child=IntervalSerializer(many=True))
    rooms = serializers.DictField(child=IntervalSerializer(many=True))


@extend_schema(tags=["availability"])
class AvailabilityView(ApiMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            *WINDOW_PARAMS,
            OpenApiParameter("duration", OpenApiTypes.INT, required=True, description="Slot length in minutes"),
            OpenApiParameter("granularity", OpenApiTypes.INT, description="Minutes between slot starts (default 15)"),
        ],
        responses={200: SlotsSerializer},
        summary="Free slots: every listed person free and, if rooms are listed, at least one of them",
    )
    def get(self, request):
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


@extend_schema(tags=["availability"])
class BusyView(ApiMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            *WINDOW_PARAMS,
            OpenApiParameter("exclude_meetings", OpenApiTypes.STR,
                             description="Meeting ids to ignore (e.g. the one being moved), comma-separated"),
        ],
        responses={200: BusySerializer},
        summary="Merged busy intervals per person and room (for the planner)",
    )
    def get(self, request):
        query = WindowQuery(request)
        exclude = _id_list(request.query_params.get("exclude_meetings"), "exclude_meetings")
        busy = busy_intervals(people=query.people, rooms=query.rooms, start=query.start, end=query.end,
                              exclude_meetings=exclude)

        def render(spans):
            return [{"starts_at": query.local(a), "ends_at": query.local(b)} for a, b in spans]

        return Response({
            "timezone": query.timezone,
            "people": {str(pk): render(spans) for pk, spans in busy.people.items()},
            "rooms": {str(pk): render(spans) for pk, spans in busy.rooms.items()},
        })



# --- booking against availability (called by the meeting endpoints) ---------------------------


def _override_requested(request, data) -> bool:
    override = bool(data.get("override_availability", False))
    if override and not is_coordinator(request.user):
        raise PermissionDenied("Only coordinators may book against availability.")
    return override


def _blocking_people(participants) -> list[Person]:
    return [p["person"] for p in participants if p["role"] in Participation.BLOCKING_ROLES]


def check_new_meeting(request, data) -> bool:
    """Before creating: 409 when a blocking participant or the room is unavailable, unless overridden.

    Returns whether the meeting is booked against availability (to record once it exists).
    """
    return availability_services.meeting_availability_check(
        starts_at=data["starts_at"], ends_at=data["ends_at"], people=_blocking_people(data.get("participants", [])),
        room=data.get("room"), override=_override_requested(request, data), reveal=is_coordinator(request.user),
    )


def check_meeting_change(request, meeting: Meeting, data) -> bool | None:
    """Before an update: a new time is checked for every blocking participant and the room; otherwise
    only people who newly block and a new room are. Returns the flag to record, or None to keep it."""
    starts_at, ends_at = data.get("starts_at", meeting.starts_at), data.get("ends_at", meeting.ends_at)
    room = data.get("room", meeting.room)
    moved = (starts_at, ends_at) != (meeting.starts_at, meeting.ends_at)
    before = set(meeting.participations.filter(role__in=Participation.BLOCKING_ROLES).values_list("person_id", flat=True))
    if "participants" in data:
        people = _blocking_people(data["participants"])
    else:
        people = list(Person.objects.filter(pk__in=before))
    if not moved:
        people = [p for p in people if p.pk not in before]
        if room == meeting.room:
            room = None
    if not people and room is None:
        return None
    against = availability_services.meeting_availability_check(
        starts_at=starts_at, ends_at=ends_at, people=people, room=room,
        override=_override_requested(request, data), reveal=is_coordinator(request.user),
    )
    if moved:
        return against
    return True if against else None


def record_meeting_availability(meeting: Meeting, against: bool | None) -> None:
    if against is not None:
        availability_services.meeting_mark_availability(meeting=meeting, against=against)
