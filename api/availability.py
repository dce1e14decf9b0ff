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
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from availability import services as availability_services
from availability.models import Absence, ExternalCalendar, HoursException, RoomClosure, WeeklyHours
from availability.selectors import busy_intervals, free_slots
from core.timezones import check_timezone
from directory.models import Person
from events.models import Room

from . import visibility
from .fields import AwareDateTimeField, BoundedDateField, SafePrimaryKeyRelatedField
from .permissions import caller_person, is_coordinator
from .serializers import EndsAfterStartMixin
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
    return check_timezone(raw)


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



# --- working hours -----------------------------------------------------------------------------


class WeeklyHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="Monday = 0 … Sunday = 6")
    start = serializers.TimeField(format="%H:%M", help_text="Local time in the person's zone, e.g. 09:00")
    end = serializers.TimeField(format="%H:%M")


class HoursExceptionSerializer(serializers.Serializer):
    date = BoundedDateField()
    start = serializers.TimeField(format="%H:%M", allow_null=True, required=False, default=None,
                                  help_text="Empty (with end) = not working that day")
    end = serializers.TimeField(format="%H:%M", allow_null=True, required=False, default=None)


class WorkingHoursSerializer(serializers.Serializer):
    timezone = serializers.CharField(read_only=True, help_text="The person's zone the times are in")
    weekly = WeeklyHoursSerializer(many=True, max_length=7 * 12)
    exceptions = HoursExceptionSerializer(many=True, required=False, max_length=2000)


def _person_for(request, pk: int) -> Person:
    """Coordinators: anyone. A host: themselves (others they may see: 403; the rest: 404)."""
    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise NotFound("No such person.")
    if is_coordinator(request.user):
        return person
    me = caller_person(request.user)
    if me is not None and me.pk == person.pk:
        return person
    if me is not None and visibility.person_ids(me).filter(pk=pk).exists():
        raise PermissionDenied("Hosts may only see and change their own working hours.")
    raise NotFound("No such person.")


def _working_hours_body(person: Person) -> dict:
    return WorkingHoursSerializer({
        "timezone": person.timezone,
        "weekly": list(WeeklyHours.objects.filter(person=person).order_by("weekday", "start")),
        "exceptions": list(HoursException.objects.filter(person=person).order_by("date", "start")),
    }).data


@extend_schema(tags=["availability"])
class WorkingHoursView(ApiMixin, APIView):
    """A person's weekly working hours and dated exceptions, in their own time zone.

    No weekly intervals at all means no limit. Exceptions replace the weekday's intervals on their
    date; an exception without start and end is a day off.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: WorkingHoursSerializer}, summary="A person's working hours")
    def get(self, request, pk: int):
        return Response(_working_hours_body(_person_for(request, pk)))

    @extend_schema(request=WorkingHoursSerializer, responses={200: WorkingHoursSerializer},
                   summary="Replace a person's working hours (a host: their own)")
    def put(self, request, pk: int):
        person = _person_for(request, pk)
        serializer = WorkingHoursSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        availability_services.working_hours_set(
            person=person,
            weekly=[availability_services.WeeklySpec(**w) for w in data["weekly"]],
            exceptions=[availability_services.ExceptionSpec(**e) for e in data.get("exceptions", [])],
        )
        return Response(_working_hours_body(person))


# --- absences, closures, external calendars ----------------------------------------------------


class OwnedScopeMixin:
    """Coordinators see every row; a host only rows of their own person; anyone else none."""

    def get_queryset(self):
        qs = self.queryset.all()
        if is_coordinator(self.request.user):
            return qs
        me = caller_person(self.request.user)
        return qs.filter(person=me) if me is not None else qs.none()

    def _person_in(self, data) -> Person:
        me = caller_person(self.request.user)
        person = data.get("person") or me
        if person is None:
            raise ValidationError({"person": ["Say whose this is."]})
        if not is_coordinator(self.request.user) and person != me:
            raise PermissionDenied("Hosts may only manage their own.")
        return person


class OwnOrCoordinator(IsAuthenticated):
    """Any signed-in caller with a person (a host) or a coordinator; the queryset does the scoping."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return is_coordinator(request.user) or caller_person(request.user) is not None


class AbsenceSerializer(EndsAfterStartMixin, serializers.ModelSerializer):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all(), required=False,
                                        help_text="Person id (a host: themselves, the default)")
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   help_text="Private: shown to coordinators and the person only")

    class Meta:
        model = Absence
        fields = ["id", "person", "starts_at", "ends_at", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]


@extend_schema(tags=["availability"])
class AbsenceViewSet(OwnedScopeMixin, ApiMixin, viewsets.ModelViewSet):
    """Holidays, travel, illness. Hosts manage their own; the reason stays between them and coordinators."""

    queryset = Absence.objects.select_related("person")
    serializer_class = AbsenceSerializer
    permission_classes = [OwnOrCoordinator]
    filterset_fields = ["person"]
    ordering_fields = ["starts_at", "ends_at"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = availability_services.absence_create(
            person=self._person_in(data), starts_at=data["starts_at"], ends_at=data["ends_at"],
            reason=data.get("reason", ""))

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "person" in data:
            data["person"] = self._person_in(data)
        serializer.instance = availability_services.absence_update(absence=serializer.instance, **data)

    def perform_destroy(self, instance):
        availability_services.absence_remove(absence=instance)


class RoomClosureSerializer(EndsAfterStartMixin, serializers.ModelSerializer):
    room = SafePrimaryKeyRelatedField(queryset=Room.objects.all())
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   help_text="Private: shown to coordinators only (hosts see that the room is closed)")

    class Meta:
        model = RoomClosure
        fields = ["id", "room", "starts_at", "ends_at", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance):
        """Like an absence's reason, a closure's ("Asbestos inspection (internal)") is for coordinators."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not is_coordinator(request.user):
            data.pop("reason", None)
        return data


class StaffReadCoordinatorWrites(OwnOrCoordinator):
    message = "Only coordinators may change this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or is_coordinator(request.user)


@extend_schema(tags=["availability"])
class RoomClosureViewSet(ApiMixin, viewsets.ModelViewSet):
    """When a room cannot be booked besides its daily hours. Hosts read (to plan); coordinators write."""

    queryset = RoomClosure.objects.all()
    serializer_class = RoomClosureSerializer
    permission_classes = [StaffReadCoordinatorWrites]
    filterset_fields = ["room"]
    ordering_fields = ["starts_at", "ends_at"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = availability_services.room_closure_create(**data)

    def perform_update(self, serializer):
        serializer.instance = availability_services.room_closure_update(closure=serializer.instance,
                                                                        **serializer.validated_data)

    def perform_destroy(self, instance):
        availability_services.room_closure_remove(closure=instance)


class ExternalCalendarSerializer(serializers.ModelSerializer):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all(), required=False,
                                        help_text="Person id (a host: themselves, the default)")
    url = serializers.CharField(max_length=2000, help_text="The calendar's secret ICS address (https or webcal)")
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
class ExternalCalendarViewSet(OwnedScopeMixin, ApiMixin, viewsets.ModelViewSet):
    """People's own calendars, read for busy times only. The URL is a secret: owner and coordinators.

    Calendars are fetched by the worker only: adding one (or changing its address) and ``sync/``
    queue a sync and answer at once; ``sync`` in the answer says whether it is queued or running.
    """

    queryset = ExternalCalendar.objects.select_related("person")
    serializer_class = ExternalCalendarSerializer
    permission_classes = [OwnOrCoordinator]
    filterset_fields = ["person"]
    ordering_fields = ["created_at", "last_synced_at"]

    def get_throttles(self):
        if self.action in ("create", "update", "partial_update", "sync"):
            return [CalendarSyncThrottle()]
        return super().get_throttles()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = availability_services.external_calendar_add(
            person=self._person_in(data), url=fetch_url(data["url"]))

    def perform_update(self, serializer):
        data = serializer.validated_data
        if "person" in data and data["person"] != serializer.instance.person:
            raise ValidationError({"person": ["A calendar cannot move to another person; add a new one."]})
        calendar = serializer.instance
        if "url" in data:
            calendar = availability_services.external_calendar_change_url(calendar=calendar, url=fetch_url(data["url"]))
        serializer.instance = calendar

    def perform_destroy(self, instance):
        availability_services.external_calendar_remove(calendar=instance)

    @extend_schema(request=None, responses={202: ExternalCalendarSerializer},
                   summary="Sync now: queue a fetch in the worker (one per calendar at a time) and answer at once")
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """202 with the calendar as it is now and ``"sync": "queued"`` (or ``"running"``); a second
        request while one is queued or running queues nothing more. Poll the calendar for the result."""
        calendar = self.get_object()
        availability_services.external_calendar_sync_request(calendar=calendar)
        calendar.refresh_from_db()
        return Response(ExternalCalendarSerializer(calendar).data, status=202)


def fetch_url(url: str) -> str:
    from availability.fetch import check_url_shape

    return check_url_shape(url)
