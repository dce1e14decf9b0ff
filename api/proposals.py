"""A visit's programme proposals: ``/api/v1/visits/{id}/proposals/`` and ``/api/v1/proposals/{id}/…``.

Coordinators only. A proposal is the solver's draft of the visit's whole programme, with a reason per
item; the coordinator pins or removes items, solves again, accepts (books through ``visits.booking``),
repairs after declines and absences (preview first), or discards. ``scheduling.services`` decides.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from scheduling import services as scheduling_services
from scheduling.models import Proposal, ProposalItem
from scheduling.selectors import proposal_covered, proposal_detail, proposals_for_visit
from scheduling.values import RepairPlan
from visits.models import Visit

from .base import ApiViewSet, Schedulers, int_or_404
from .deadline import solve_guard
from .fields import LocalTimeField, id_list_field, time_limit_field
from .programme_check import ProposalCheckField


class ProposalParticipantSerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField()
    role = serializers.CharField()


class ProposalItemSerializer(serializers.ModelSerializer[ProposalItem]):
    participants = ProposalParticipantSerializer(many=True)
    room_name = serializers.CharField(source="room.name", allow_null=True, default=None, read_only=True)
    reason = serializers.CharField(source="reason_text", read_only=True, help_text="In the request's language")

    class Meta:
        model = ProposalItem
        fields = ["id", "key", "title", "kind", "starts_at", "ends_at", "room", "room_name", "location",
                  "participants", "reason", "pinned", "removed", "meeting"]


class UnplacedItemSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    reason = serializers.CharField(source="reason_text", help_text="In the request's language")
    blocked_by = serializers.CharField(help_text="The rule that kept it out (visits.rules ids such as lunch, breaks, "
                                       "available, holiday; or capacity, room-busy, day-bounds, programme-full, "
                                       "expertise, time-limit)")


class CoveredSerializer(serializers.Serializer[Any]):
    covers = serializers.ChoiceField(choices=["topic", "welcome", "lunch", "wrap-up"])
    topic = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    meeting = serializers.IntegerField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    text = serializers.CharField(help_text="“already in the programme: <meeting>, <day> <time>”, request's language")


class ProposalSerializer(serializers.ModelSerializer[Proposal]):
    items = serializers.SerializerMethodField()
    unplaced = serializers.SerializerMethodField()
    already_in_programme = serializers.SerializerMethodField()
    programme_check = ProposalCheckField(help_text="Each rule of a good programme, kept or why not")

    class Meta:
        model = Proposal
        fields = ["id", "visit", "status", "solver_status", "objective", "items", "unplaced",
                  "already_in_programme", "programme_check", "created_at", "updated_at", "accepted_at"]

    @extend_schema_field(CoveredSerializer(many=True))
    def get_already_in_programme(self, obj: Proposal) -> Any:
        """Topics and welcome/lunch/wrap-up the visit's programme already had, hence not proposed."""
        return CoveredSerializer(proposal_covered(proposal=obj), many=True).data

    @extend_schema_field(ProposalItemSerializer(many=True))
    def get_items(self, obj: Proposal) -> Any:
        return ProposalItemSerializer([i for i in obj.items.all() if i.placed or i.removed], many=True).data

    @extend_schema_field(UnplacedItemSerializer(many=True))
    def get_unplaced(self, obj: Proposal) -> Any:
        return UnplacedItemSerializer([i for i in obj.items.all() if not i.placed and not i.removed], many=True).data


class ProposalCreateSerializer(serializers.Serializer[Any]):
    time_limit_seconds = time_limit_field(5)
    rooms = id_list_field(required=False, min_length=1, help_text="Rooms to use (default: the visit venue's rooms)")
    day_start = LocalTimeField(required=False, default=time(9, 0))
    day_end = LocalTimeField(required=False, default=time(17, 0))


class TimeLimitSerializer(serializers.Serializer[Any]):
    time_limit_seconds = time_limit_field(5)


class AcceptSerializer(serializers.Serializer[Any]):
    items = id_list_field(required=False, help_text="Item ids to book (default: every placed, kept, unbooked item)")


class ItemUpdateSerializer(serializers.Serializer[Any]):
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


class RepairPlacementSerializer(serializers.Serializer[Any]):
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    room = serializers.IntegerField(allow_null=True)
    room_name = serializers.CharField()
    host = serializers.IntegerField(allow_null=True)
    host_name = serializers.CharField()


class RepairMailSerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField()
    name = serializers.CharField()
    mail = serializers.ChoiceField(
        choices=["update", "cancel", "invitation", "programme"],
        help_text="programme: the delegation and requester of a visit whose delegation mail is the programme "
                  "hear of the change in the visit's one 'programme updated' mail, not a mail of this meeting")


class RepairChangeSerializer(serializers.Serializer[Any]):
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


class RepairPlanSerializer(serializers.Serializer[Any]):
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

    def get_repaired(self, obj: Proposal) -> dict[str, str]:
        """Each affected item's key with why, in the request's language (a cancelled one included: it stays so)."""
        plan: RepairPlan | None = self.context.get("plan")
        return {c.key: c.why_text for c in plan.changes} if plan else {}

    @extend_schema_field(RepairPlanSerializer)
    def get_plan(self, obj: Proposal) -> Any:
        return RepairPlanSerializer(self.context["plan"]).data


def _render(proposal: Proposal, code: int = status.HTTP_200_OK,
            serializer: type[ProposalSerializer] = ProposalSerializer, **context: Any) -> Response:
    return Response(serializer(proposal_detail(proposal_id=proposal.pk), context=context).data, status=code)


@extend_schema(tags=["scheduling"])
class VisitProposalsViewSet(ApiViewSet[Visit]):
    # ``/visits/{id}/proposals/``: a visit's proposals, and a new one (registered under the visit's basename).

    permission_classes = [Schedulers]
    queryset = Visit.objects.all()  # unscoped: coordinators only
    pagination_class = None  # a visit has a handful of proposals; the planner reads the plain list
    filter_backends = []

    @extend_schema(methods=["GET"], responses={200: ProposalSerializer(many=True)},
                   summary="The visit's proposals, newest first")
    @extend_schema(methods=["POST"], request=ProposalCreateSerializer, responses={201: ProposalSerializer},
                   summary="Propose the visit's whole programme (stored as a draft with a reason per item)")
    @action(detail=True, methods=["get", "post"])
    def proposals(self, request: Request, pk: str) -> Response:
        visit = get_object_or_404(Visit, pk=int_or_404(pk))
        if request.method == "GET":
            return Response(ProposalSerializer(proposals_for_visit(visit=visit), many=True).data)
        d = self.validated(ProposalCreateSerializer, request.data if request.data is not None else {})
        with solve_guard():
            proposal = scheduling_services.proposal_create(
                visit=visit, by=self.caller, time_limit_seconds=d["time_limit_seconds"],
                rooms=list(dict.fromkeys(d["rooms"])) if d.get("rooms") else None,
                day_start=d["day_start"], day_end=d["day_end"],
            )
        return _render(proposal, status.HTTP_201_CREATED)


@extend_schema(tags=["scheduling"])
class ProposalViewSet(ApiViewSet[Proposal]):
    # ``/proposals/{id}/``: one proposal, and what a coordinator does with it.

    permission_classes = [Schedulers]
    queryset = Proposal.objects.all()
    filter_backends = []

    def _proposal(self, pk: str) -> Proposal:
        return get_object_or_404(Proposal, pk=int_or_404(pk))

    def _input(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        return self.validated(serializer_class, self.request.data if self.request.data is not None else {})

    @extend_schema(responses={200: ProposalSerializer}, summary="One proposal")
    def retrieve(self, request: Request, pk: str) -> Response:
        return _render(self._proposal(pk))

    @extend_schema(request=AcceptSerializer, responses={200: ProposalSerializer},
                   summary="Book the proposal's items as programme meetings (409 if the world changed)")
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        proposal = self._proposal(pk)
        d = self._input(AcceptSerializer)
        return _render(scheduling_services.proposal_accept(proposal=proposal, item_ids=d.get("items")))

    @extend_schema(request=TimeLimitSerializer, responses={200: ProposalSerializer},
                   summary="Solve again: pinned and booked items stay, removed ones are left out")
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        proposal = self._proposal(pk)
        d = self._input(TimeLimitSerializer)
        with solve_guard():
            proposal = scheduling_services.proposal_resolve(proposal=proposal, time_limit_seconds=d["time_limit_seconds"])
        return _render(proposal)

    @extend_schema(request=RepairInputSerializer, responses={200: RepairOutputSerializer},
                   summary="Repair after declines and absences: preview what would change (default), or apply it",
                   description="Re-solves only what a declined or absent host affects. Without `confirm` nothing "
                               "is written: `plan` lists each affected item's move and new host and who would "
                               "get an update, a cancellation or an invitation. `confirm: true` with the "
                               "preview's `plan` token applies exactly that. A cancelled meeting is never "
                               "booked again.")
    @action(detail=True, methods=["post"])
    def repair(self, request: Request, pk: str) -> Response:
        proposal = self._proposal(pk)
        d = self._input(RepairInputSerializer)
        with solve_guard():
            proposal, plan = scheduling_services.proposal_repair(
                proposal=proposal, time_limit_seconds=d["time_limit_seconds"], confirm=d["confirm"],
                plan=d.get("plan"))
        return _render(proposal, serializer=RepairOutputSerializer, plan=plan)

    @extend_schema(request=None, responses={200: ProposalSerializer}, summary="Discard a proposal (booked meetings stay)")
    @action(detail=True, methods=["post"])
    def discard(self, request: Request, pk: str) -> Response:
        return _render(scheduling_services.proposal_discard(proposal=self._proposal(pk)))

    @extend_schema(request=ItemUpdateSerializer, responses={200: ProposalItemSerializer},
                   summary="Pin an item where it is, or remove it from the proposal (and back)")
    @extend_schema(parameters=[OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item_id>[0-9]+)", url_name="item")
    def item(self, request: Request, pk: str, item_id: str) -> Response:
        item = get_object_or_404(ProposalItem.objects.select_related("proposal", "room"),
                                 pk=int_or_404(item_id), proposal_id=int_or_404(pk))
        d = self._input(ItemUpdateSerializer)
        item = scheduling_services.proposal_item_update(item=item, pinned=d.get("pinned"), removed=d.get("removed"))
        return Response(ProposalItemSerializer(item).data)
