"""``/api/v1/scheduling/``: solve a batch of meetings (``solve/``, books nothing) and book the result (``book/``).

Coordinators only. Serializers check shape; ``scheduling.services`` decides and books. A visit's
programme proposals are ``api/proposals.py``.
"""

from __future__ import annotations

import zoneinfo
from datetime import time
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from directory.models import Person
from events import services as event_services
from events.models import Meeting, Participation, Room
from scheduling import services as scheduling_services
from scheduling.batch import BatchRequest
from scheduling.models import Proposal
from scheduling.problem import LunchRule, MeetingSpec, Pin
from visits.models import Visit

from .base import ApiViewSet, Schedulers
from .deadline import solve_guard
from .fields import (
    AwareDateTimeField,
    BoundedDateField,
    EndDateTimeField,
    LocalTimeField,
    SafePrimaryKeyRelatedField,
    TimezoneField,
    id_list_field,
    time_limit_field,
)

# --- solve -------------------------------------------------------------------------------------


class PinSerializer(serializers.Serializer[Any]):
    starts_at = AwareDateTimeField()
    room = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True, default=None)


class SolveMeetingSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(max_length=60)
    title = serializers.CharField(max_length=200)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=720)
    # Named like Field.required; the metaclass moves declared fields out of the class, so nothing is shadowed.
    required = id_list_field(required=False, default=list)  # type: ignore[assignment]
    optional = id_list_field(required=False, default=list)
    min_capacity = serializers.IntegerField(min_value=1, max_value=10000, required=False, allow_null=True,
                                            default=None)
    pinned = PinSerializer(required=False, allow_null=True, default=None)


class LunchSerializer(serializers.Serializer[Any]):
    start = LocalTimeField()
    end = LocalTimeField(help_text="After start")
    minutes = serializers.IntegerField(min_value=5, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The lunch window must end after it starts."]})
        return attrs


class SolveInputSerializer(serializers.Serializer[Any]):
    timezone = TimezoneField()
    days = serializers.ListField(child=BoundedDateField(), min_length=1, max_length=14)
    day_start = LocalTimeField(required=False, default=time(8, 0))
    day_end = LocalTimeField(required=False, default=time(18, 0))
    granularity_minutes = serializers.IntegerField(min_value=5, max_value=120, required=False, default=15)
    rooms = id_list_field(min_length=1)
    meetings = serializers.ListField(child=SolveMeetingSerializer(), min_length=1, max_length=300)
    respect_existing = serializers.BooleanField(required=False, default=True)
    time_limit_seconds = time_limit_field(10, min_value=0.05)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    delegation = id_list_field(required=False, default=list,
                      help_text="People whose room changes should be few (e.g. a visiting delegation)")
    lunch = LunchSerializer(required=False, allow_null=True,
                            help_text="Everyone gets `minutes` free inside this window (default 11:30–14:00, 30 min)")
    building_gap_minutes = serializers.IntegerField(min_value=0, max_value=120, required=False, default=10)


class AssignmentSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.IntegerField(allow_null=True)


class UnplacedSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    reason = serializers.CharField()


class SolveOutputSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(help_text="optimal / feasible: every meeting placed (proved best or not); "
                                   "infeasible: proved that not all fit; unknown: time ran out first")
    objective = serializers.DictField(help_text="placed, unplaced, optional_overlap_minutes, "
                                      "optional_overlap_bound_minutes, lunch_breaks_missed, building_gaps_missed, "
                                      "delegation_rooms, preferences, stages")
    assignments = AssignmentSerializer(many=True)
    unplaced = UnplacedSerializer(many=True)
    solve_seconds = serializers.FloatField()
    first_complete_seconds = serializers.FloatField(allow_null=True)


SOLVE_EXAMPLE = OpenApiExample(
    "Partnering day",
    request_only=True,
    value={
        "timezone": "Europe/Berlin", "days": ["2027-03-02"], "day_start": "09:00", "day_end": "17:00",
        "granularity_minutes": 15, "rooms": [1, 2],
        "meetings": [
            {"key": "a", "title": "Cell therapy one-to-one", "duration_minutes": 45, "required": [3, 7],
             "optional": [9]},
            {"key": "b", "title": "GMP facility", "duration_minutes": 60, "required": [4, 7], "min_capacity": 6,
             "pinned": {"starts_at": "2027-03-02T14:00:00+01:00", "room": 2}},
        ],
        "respect_existing": True, "time_limit_seconds": 5,
    },
)


# --- book --------------------------------------------------------------------------------------


class BookParticipantSerializer(serializers.Serializer[Any]):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all())
    role = serializers.ChoiceField(choices=Participation.Role.choices)


class BookMeetingSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(max_length=60)
    title = serializers.CharField(max_length=200)
    starts_at = AwareDateTimeField()
    ends_at = EndDateTimeField(help_text="ISO 8601 with offset; after starts_at")
    room = SafePrimaryKeyRelatedField(queryset=Room.objects.all(), allow_null=True, required=False, default=None)
    # Named like Field.required (see SolveMeetingSerializer).
    required = serializers.ListField(child=SafePrimaryKeyRelatedField(queryset=Person.objects.all()),  # type: ignore[assignment]
                                     required=False, default=list, max_length=200,
                                     help_text="Booked as hosts (they block their time)")
    optional = serializers.ListField(child=SafePrimaryKeyRelatedField(queryset=Person.objects.all()),
                                     required=False, default=list, max_length=200, help_text="Booked as guests")
    participants = BookParticipantSerializer(many=True, required=False,
                                              help_text="Explicit roles instead of required/optional")
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices, required=False, default=Meeting.Kind.MEETING)
    location = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["The meeting must end after it starts."]})
        if set(attrs["required"]) & set(attrs["optional"]):
            raise serializers.ValidationError({"optional": ["A person cannot be both required and optional."]})
        return attrs


class BookInputSerializer(serializers.Serializer[Any]):
    timezone = TimezoneField()
    visit = SafePrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True, default=None,
                                       help_text="Put the meetings into this visit's programme")
    meetings = serializers.ListSerializer[Any](child=BookMeetingSerializer(), min_length=1, max_length=300,
                                               help_text="1–300 meetings with unique keys")

    def validate_meetings(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = [m["key"] for m in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Meeting keys must be unique.")
        return value


class BookedSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    id = serializers.IntegerField()
    uid = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.IntegerField(allow_null=True)


class BookOutputSerializer(serializers.Serializer[Any]):
    meetings = BookedSerializer(many=True)


# --- the endpoints ----------------------------------------------------------------------------


@extend_schema(tags=["scheduling"])
class SchedulingViewSet(ApiViewSet[Proposal]):
    # Coordinators only: place a batch of meetings (books nothing), and book what was placed.

    permission_classes = [Schedulers]
    queryset = Proposal.objects.none()  # for the schema generator only

    @extend_schema(request=SolveInputSerializer, responses={200: SolveOutputSerializer}, examples=[SOLVE_EXAMPLE],
                   summary="Schedule a batch of meetings (CP-SAT); answers a proposal, books nothing")
    @action(detail=False, methods=["post"])
    def solve(self, request: Request) -> Response:
        """Place a batch of meetings; books nothing."""
        d = self.validated(SolveInputSerializer)
        lunch: LunchRule | None = LunchRule(start="11:30", end="14:00", minutes=30)  # no `lunch`: the default
        if "lunch" in d:  # null: no lunch rule
            given = d["lunch"]
            lunch = None if given is None else LunchRule(
                start=given["start"].strftime("%H:%M"), end=given["end"].strftime("%H:%M"), minutes=given["minutes"])
        batch = BatchRequest(
            timezone=d["timezone"], days=tuple(d["days"]), rooms=tuple(dict.fromkeys(d["rooms"])),
            day_start=d["day_start"], day_end=d["day_end"], granularity_minutes=d["granularity_minutes"],
            respect_existing=d["respect_existing"], time_limit_seconds=d["time_limit_seconds"], seed=d["seed"],
            delegation=tuple(d["delegation"]), lunch=lunch, building_gap_minutes=d["building_gap_minutes"],
            meetings=tuple(
                MeetingSpec(
                    key=m["key"], title=m["title"], duration_minutes=m["duration_minutes"],
                    required=tuple(dict.fromkeys(m["required"])), optional=tuple(dict.fromkeys(m["optional"])),
                    min_capacity=m["min_capacity"],
                    pinned=Pin(m["pinned"]["starts_at"], m["pinned"]["room"]) if m["pinned"] else None,
                )
                for m in d["meetings"]
            ),
        )
        with solve_guard():
            solution = scheduling_services.batch_solve(request=batch)
        zone = zoneinfo.ZoneInfo(d["timezone"])
        body = {
            "status": solution.status,
            "objective": solution.objective,
            "assignments": [{"key": a.key, "starts_at": a.starts_at.astimezone(zone).isoformat(),
                             "ends_at": a.ends_at.astimezone(zone).isoformat(), "room": a.room}
                            for a in solution.assignments],
            "unplaced": [{"key": u.key, "reason": u.reason} for u in solution.unplaced],
            "solve_seconds": solution.solve_seconds,
            "first_complete_seconds": (round(solution.first_complete_seconds, 4)
                                       if solution.first_complete_seconds is not None else None),
        }
        return Response(body)

    @extend_schema(request=BookInputSerializer, responses={201: BookOutputSerializer},
                   summary="Book solved assignments as meetings (all or nothing)")
    @action(detail=False, methods=["post"])
    def book(self, request: Request) -> Response:
        """Create the solved meetings in one transaction: all or nothing; 409 when the world changed."""
        d = self.validated(BookInputSerializer)
        bookings = []
        for m in d["meetings"]:
            if m.get("participants"):
                people = [event_services.ParticipantSpec(person=p["person"], role=p["role"]) for p in m["participants"]]
            else:
                people = [*(event_services.ParticipantSpec(person=p, role=Participation.Role.HOST) for p in m["required"]),
                          *(event_services.ParticipantSpec(person=p, role=Participation.Role.GUEST) for p in m["optional"])]
            bookings.append(scheduling_services.BookingSpec(
                key=m["key"], title=m["title"], starts_at=m["starts_at"], ends_at=m["ends_at"], room=m["room"],
                participants=people, kind=m["kind"], location=m["location"], description=m["description"],
            ))
        keys = {id(b): b.key for b in bookings}
        created = scheduling_services.batch_book(bookings=bookings, timezone=d["timezone"], visit=d["visit"])
        ordered = sorted(bookings, key=lambda b: (b.starts_at, b.key))
        body = {"meetings": [
            {"key": keys[id(b)], "id": m.pk, "uid": m.uid, "starts_at": m.starts_at.isoformat(),
             "ends_at": m.ends_at.isoformat(), "room": m.room_id}
            for b, m in zip(ordered, created, strict=True)
        ]}
        return Response(body, status=status.HTTP_201_CREATED)


