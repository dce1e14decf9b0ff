"""API for scheduling: solve and book a batch of meetings, and a visit's programme proposals.

Coordinators only. Serializers check shape; ``scheduling.services`` decides and books.
"""

from __future__ import annotations

import zoneinfo
from datetime import time

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from directory.models import Person
from events import services as event_services
from events.models import Meeting, Participation, Room
from scheduling import services as scheduling_services
from scheduling.batch import BatchRequest
from scheduling.models import Proposal, ProposalItem
from scheduling.problem import LunchRule, MeetingSpec, Pin
from scheduling.selectors import proposal_covered, proposal_detail, proposals_for_visit
from visits.models import Visit

from .deadline import solve_guard
from .fields import AwareDateTimeField, BoundedDateField, LocalTimeField, SafePrimaryKeyRelatedField, TimezoneField
from .permissions import caller_person, is_coordinator
from .programme_check import ProposalCheckField
from .views import ApiMixin

ID = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
#: The most a caller may give the solver, for every endpoint that solves: well below gunicorn's
#: timeout (``VISITDESK_SOLVE_MAX_SECONDS``, default 20 s of a 60-s ``VISITDESK_WEB_TIMEOUT``), so
#: model building and the answer fit too; ``api.deadline.solve_guard`` catches what still overruns.
MAX_TIME_LIMIT = settings.VISITDESK_SOLVE_MAX_SECONDS


def _time_limit(default: float, *, min_value: float = 0.1) -> serializers.FloatField:
    return serializers.FloatField(min_value=min_value, max_value=MAX_TIME_LIMIT, required=False, default=default,
                                  help_text=f"Seconds the solver may search, at most {MAX_TIME_LIMIT:g}")


class IsCoordinator(BasePermission):
    message = "Only coordinators may schedule."

    def has_permission(self, request, view) -> bool:
        return is_coordinator(request.user)


class SchedulingView(ApiMixin, APIView):
    permission_classes = [IsCoordinator]
    queryset = Proposal.objects.none()  # for the schema generator only


def _ids(**kwargs):
    return serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), max_length=200,
                                 **kwargs)


# --- solve -------------------------------------------------------------------------------------


class PinSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    room = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True, default=None)


class SolveMeetingSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    title = serializers.CharField(max_length=200)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=720)
    required = _ids(required=False, default=list)
    optional = _ids(required=False, default=list)
    min_capacity = serializers.IntegerField(min_value=1, max_value=10000, required=False, allow_null=True,
                                            default=None)
    pinned = PinSerializer(required=False, allow_null=True, default=None)


class LunchSerializer(serializers.Serializer):
    start = LocalTimeField()
    end = LocalTimeField()
    minutes = serializers.IntegerField(min_value=5, max_value=180)

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The lunch window must end after it starts."]})
        return attrs


class SolveInputSerializer(serializers.Serializer):
    timezone = TimezoneField()
    days = serializers.ListField(child=BoundedDateField(), min_length=1, max_length=14)
    day_start = LocalTimeField(required=False, default=time(8, 0))
    day_end = LocalTimeField(required=False, default=time(18, 0))
    granularity_minutes = serializers.IntegerField(min_value=5, max_value=120, required=False, default=15)
    rooms = _ids(min_length=1)
    meetings = serializers.ListField(child=SolveMeetingSerializer(), min_length=1, max_length=300)
    respect_existing = serializers.BooleanField(required=False, default=True)
    time_limit_seconds = _time_limit(10, min_value=0.05)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, default=0)
    delegation = _ids(required=False, default=list,
                      help_text="People whose room changes should be few (e.g. a visiting delegation)")
    lunch = LunchSerializer(required=False, allow_null=True,
                            help_text="Everyone gets `minutes` free inside this window (default 11:30–14:00, 30 min)")
    building_gap_minutes = serializers.IntegerField(min_value=0, max_value=120, required=False, default=10)


class AssignmentSerializer(serializers.Serializer):
    key = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.IntegerField(allow_null=True)


class UnplacedSerializer(serializers.Serializer):
    key = serializers.CharField()
    reason = serializers.CharField()


class SolveOutputSerializer(serializers.Serializer):
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


class SolveView(SchedulingView):
    """Place a batch of meetings; books nothing."""

    @extend_schema(tags=["scheduling"], request=SolveInputSerializer, responses={200: SolveOutputSerializer},
                   examples=[SOLVE_EXAMPLE],
                   summary="Schedule a batch of meetings (CP-SAT); answers a proposal, books nothing")
    def post(self, request):
        serializer = SolveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        lunch = d.get("lunch", LunchRule(start="11:30", end="14:00", minutes=30))
        if isinstance(lunch, dict):
            lunch = LunchRule(start=lunch["start"].strftime("%H:%M"), end=lunch["end"].strftime("%H:%M"),
                              minutes=lunch["minutes"])
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


# --- book --------------------------------------------------------------------------------------


class BookParticipantSerializer(serializers.Serializer):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all())
    role = serializers.ChoiceField(choices=Participation.Role.choices)


class BookMeetingSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    title = serializers.CharField(max_length=200)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    room = SafePrimaryKeyRelatedField(queryset=Room.objects.all(), allow_null=True, required=False, default=None)
    required = serializers.ListField(child=SafePrimaryKeyRelatedField(queryset=Person.objects.all()),
                                     required=False, default=list, max_length=200,
                                     help_text="Booked as hosts (they block their time)")
    optional = serializers.ListField(child=SafePrimaryKeyRelatedField(queryset=Person.objects.all()),
                                     required=False, default=list, max_length=200, help_text="Booked as guests")
    participants = BookParticipantSerializer(many=True, required=False,
                                              help_text="Explicit roles instead of required/optional")
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices, required=False, default=Meeting.Kind.MEETING)
    location = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["The meeting must end after it starts."]})
        if set(attrs["required"]) & set(attrs["optional"]):
            raise serializers.ValidationError({"optional": ["A person cannot be both required and optional."]})
        return attrs


class BookInputSerializer(serializers.Serializer):
    timezone = TimezoneField()
    visit = SafePrimaryKeyRelatedField(queryset=Visit.objects.all(), required=False, allow_null=True, default=None,
                                       help_text="Put the meetings into this visit's programme")
    meetings = BookMeetingSerializer(many=True)

    def validate_meetings(self, value):
        if not value:
            raise serializers.ValidationError("Give at least one meeting.")
        if len(value) > 300:
            raise serializers.ValidationError("At most 300 meetings at once.")
        keys = [m["key"] for m in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Meeting keys must be unique.")
        return value


class BookedSerializer(serializers.Serializer):
    key = serializers.CharField()
    id = serializers.IntegerField()
    uid = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.IntegerField(allow_null=True)


class BookOutputSerializer(serializers.Serializer):
    meetings = BookedSerializer(many=True)


class BookView(SchedulingView):
    """Create the solved meetings in one transaction: all or nothing; 409 when the world changed."""

    @extend_schema(tags=["scheduling"], request=BookInputSerializer, responses={201: BookOutputSerializer},
                   summary="Book solved assignments as meetings (all or nothing)")
    def post(self, request):
        serializer = BookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
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


# --- proposals ---------------------------------------------------------------------------------


class ProposalParticipantSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    role = serializers.CharField()


class ProposalItemSerializer(serializers.ModelSerializer):
    participants = ProposalParticipantSerializer(many=True)
    room_name = serializers.CharField(source="room.name", allow_null=True, default=None, read_only=True)
    reason = serializers.CharField(source="reason_text", read_only=True, help_text="In the request's language")

    class Meta:
        model = ProposalItem
        fields = ["id", "key", "title", "kind", "starts_at", "ends_at", "room", "room_name", "location",
                  "participants", "reason", "pinned", "removed", "meeting"]


class UnplacedItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    reason = serializers.CharField(source="reason_text", help_text="In the request's language")
    blocked_by = serializers.CharField(help_text="The rule that kept it out (visits.rules ids such as lunch, breaks, "
                                       "available, holiday; or capacity, room-busy, day-bounds, programme-full, "
                                       "expertise, time-limit)")


class CoveredSerializer(serializers.Serializer):
    covers = serializers.ChoiceField(choices=["topic", "welcome", "lunch", "wrap-up"])
    topic = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    meeting = serializers.IntegerField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    text = serializers.CharField(help_text="“already in the programme: <meeting>, <day> <time>”, request's language")


class ProposalSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    unplaced = serializers.SerializerMethodField()
    already_in_programme = serializers.SerializerMethodField()
    programme_check = ProposalCheckField(help_text="Each rule of a good programme, kept or why not")

    class Meta:
        model = Proposal
        fields = ["id", "visit", "status", "solver_status", "objective", "items", "unplaced",
                  "already_in_programme", "programme_check", "created_at", "updated_at", "accepted_at"]

    @extend_schema_field(CoveredSerializer(many=True))
    def get_already_in_programme(self, obj) -> list[dict]:
        """Topics and welcome/lunch/wrap-up the visit's programme already had, hence not proposed."""
        return CoveredSerializer(proposal_covered(proposal=obj), many=True).data

    @extend_schema_field(ProposalItemSerializer(many=True))
    def get_items(self, obj) -> list[dict]:
        return ProposalItemSerializer([i for i in obj.items.all() if i.placed or i.removed], many=True).data

    @extend_schema_field(UnplacedItemSerializer(many=True))
    def get_unplaced(self, obj) -> list[dict]:
        return UnplacedItemSerializer([i for i in obj.items.all() if not i.placed and not i.removed], many=True).data


class ProposalCreateSerializer(serializers.Serializer):
    time_limit_seconds = _time_limit(5)
    rooms = _ids(required=False, min_length=1, help_text="Rooms to use (default: the visit venue's rooms)")
    day_start = LocalTimeField(required=False, default=time(9, 0))
    day_end = LocalTimeField(required=False, default=time(17, 0))


class TimeLimitSerializer(serializers.Serializer):
    time_limit_seconds = _time_limit(5)


class AcceptSerializer(serializers.Serializer):
    items = _ids(required=False, help_text="Item ids to book (default: every placed, kept, unbooked item)")


class ItemUpdateSerializer(serializers.Serializer):
    pinned = serializers.BooleanField(required=False)
    removed = serializers.BooleanField(required=False)


class RepairInputSerializer(TimeLimitSerializer):
    confirm = serializers.BooleanField(
        required=False, default=False,
        help_text="false (default): only preview — the answer's plan says what would change and who would be "
                  "mailed, and nothing is written; true: apply (with `plan`, exactly that preview)")
    plan = serializers.CharField(required=False, max_length=64,
                                 help_text="The token of the previewed plan to apply (409 repair_plan_stale if the "
                                           "programme changed since)")


class RepairPlacementSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    room = serializers.IntegerField(allow_null=True)
    room_name = serializers.CharField()
    host = serializers.IntegerField(allow_null=True)
    host_name = serializers.CharField()


class RepairMailSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    name = serializers.CharField()
    mail = serializers.ChoiceField(choices=["update", "cancel", "invitation"])


class RepairChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["repaired", "not_repaired", "stays_cancelled"],
                                      help_text="stays_cancelled: a cancelled meeting is never booked again")
    why = serializers.CharField(source="why_text", help_text="Why it is affected, in the request's language")
    reason = serializers.CharField(source="reason_text", help_text="Where it goes, or why it cannot be repaired")
    moved = serializers.BooleanField()
    new_host = serializers.BooleanField()
    meeting = serializers.IntegerField(allow_null=True)
    before = RepairPlacementSerializer()
    after = RepairPlacementSerializer()
    mail = RepairMailSerializer(source="told", many=True, help_text="Who will get which mail when it is applied")


class RepairPlanSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it back with confirm=true to apply exactly this plan")
    made_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True, help_text="null: a preview, nothing changed yet")
    announced = serializers.BooleanField(help_text="false: the visit is not confirmed, so nobody is mailed")
    changes = RepairChangeSerializer(many=True)


class RepairOutputSerializer(ProposalSerializer):
    repaired = serializers.SerializerMethodField()
    plan = serializers.SerializerMethodField()

    class Meta(ProposalSerializer.Meta):
        fields = [*ProposalSerializer.Meta.fields, "repaired", "plan"]

    def get_repaired(self, obj) -> dict[str, str]:
        """Each affected item's key with why, in the request's language (a cancelled one included: it stays so)."""
        plan = self.context.get("plan")
        return {c.key: c.why_text for c in plan.changes} if plan else {}

    @extend_schema_field(RepairPlanSerializer)
    def get_plan(self, obj) -> dict:
        return RepairPlanSerializer(self.context["plan"]).data


def _input(serializer_class, data):
    serializer = serializer_class(data=data if data is not None else {})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _render(proposal, code=status.HTTP_200_OK, serializer=ProposalSerializer, **context):
    return Response(serializer(proposal_detail(proposal_id=proposal.pk), context=context).data, status=code)


class VisitProposalsView(SchedulingView):
    pagination_class = None  # a visit has a handful of proposals; the planner reads the plain list
    @extend_schema(tags=["scheduling"], request=ProposalCreateSerializer, responses={201: ProposalSerializer},
                   summary="Propose the visit's whole programme (stored as a draft with a reason per item)")
    def post(self, request, pk: int):
        visit = get_object_or_404(Visit, pk=pk)
        d = _input(ProposalCreateSerializer, request.data)
        with solve_guard():
            proposal = scheduling_services.proposal_create(
                visit=visit, by=caller_person(request.user), time_limit_seconds=d["time_limit_seconds"],
                rooms=list(dict.fromkeys(d["rooms"])) if d.get("rooms") else None,
                day_start=d["day_start"], day_end=d["day_end"],
            )
        return _render(proposal, status.HTTP_201_CREATED)

    @extend_schema(tags=["scheduling"], responses={200: ProposalSerializer(many=True)},
                   summary="The visit's proposals, newest first")
    def get(self, request, pk: int):
        visit = get_object_or_404(Visit, pk=pk)
        return Response(ProposalSerializer(proposals_for_visit(visit=visit), many=True).data)


class ProposalView(SchedulingView):
    @extend_schema(tags=["scheduling"], responses={200: ProposalSerializer}, summary="One proposal")
    def get(self, request, pk: int):
        return _render(get_object_or_404(Proposal, pk=pk))


class ProposalAcceptView(SchedulingView):
    @extend_schema(tags=["scheduling"], request=AcceptSerializer, responses={200: ProposalSerializer},
                   summary="Book the proposal's items as programme meetings (409 if the world changed)")
    def post(self, request, pk: int):
        proposal = get_object_or_404(Proposal, pk=pk)
        d = _input(AcceptSerializer, request.data)
        proposal = scheduling_services.proposal_accept(proposal=proposal, item_ids=d.get("items"))
        return _render(proposal)


class ProposalResolveView(SchedulingView):
    @extend_schema(tags=["scheduling"], request=TimeLimitSerializer, responses={200: ProposalSerializer},
                   summary="Solve again: pinned and booked items stay, removed ones are left out")
    def post(self, request, pk: int):
        proposal = get_object_or_404(Proposal, pk=pk)
        d = _input(TimeLimitSerializer, request.data)
        with solve_guard():
            proposal = scheduling_services.proposal_resolve(proposal=proposal, time_limit_seconds=d["time_limit_seconds"])
        return _render(proposal)


class ProposalRepairView(SchedulingView):
    @extend_schema(tags=["scheduling"], request=RepairInputSerializer, responses={200: RepairOutputSerializer},
                   summary="Repair after declines and absences: preview what would change (default), or apply it",
                   description="Re-solves only what a declined or absent host affects. Without `confirm` nothing "
                               "is written: `plan` lists each affected item's move and new host and who would "
                               "get an update, a cancellation or an invitation. `confirm: true` with the "
                               "preview's `plan` token applies exactly that. A cancelled meeting is never "
                               "booked again.")
    def post(self, request, pk: int):
        proposal = get_object_or_404(Proposal, pk=pk)
        d = _input(RepairInputSerializer, request.data)
        with solve_guard():
            proposal, plan = scheduling_services.proposal_repair(
                proposal=proposal, time_limit_seconds=d["time_limit_seconds"], confirm=d["confirm"],
                plan=d.get("plan"))
        return _render(proposal, serializer=RepairOutputSerializer, plan=plan)


class ProposalDiscardView(SchedulingView):
    @extend_schema(tags=["scheduling"], request=None, responses={200: ProposalSerializer},
                   summary="Discard a proposal (booked meetings stay)")
    def post(self, request, pk: int):
        proposal = get_object_or_404(Proposal, pk=pk)
        return _render(scheduling_services.proposal_discard(proposal=proposal))


class ProposalItemView(SchedulingView):
    @extend_schema(tags=["scheduling"], request=ItemUpdateSerializer, responses={200: ProposalItemSerializer},
                   summary="Pin an item where it is, or remove it from the proposal (and back)")
    def patch(self, request, pk: int, item_id: int):
        item = get_object_or_404(ProposalItem.objects.select_related("proposal", "room"), pk=item_id, proposal_id=pk)
        d = _input(ItemUpdateSerializer, request.data)
        item = scheduling_services.proposal_item_update(item=item, pinned=d.get("pinned"), removed=d.get("removed"))
        return Response(ProposalItemSerializer(item).data)
