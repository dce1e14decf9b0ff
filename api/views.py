"""API v1 views: authenticate, scope, validate shape, call a service or selector, render.

Each write goes through a service: every change to a meeting through ``visits.booking`` (which owns
its transaction, the availability and overlap checks and the override), the workflow through
``visits.services``, people through ``directory.services`` (plain reference data — organisations,
topics, venues, rooms — is saved by its model serializer: it carries no business rule). A refused
request changes nothing.
"""

from __future__ import annotations

import functools

from django.db.models import F
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.links import absolute
from directory.models import Organisation, Person, Topic
from directory.services import person_rotate_feed_token
from events.models import Meeting, Participation, Room, Venue
from events.selectors import event_list, meeting_list
from visits import booking
from visits import services as visit_services
from visits.links import visit_status_url
from visits.models import Delegation
from visits.selectors import programme_meetings, visit_by_status_token, visit_list

from . import serializers as s
from . import visibility
from .fields import clean_token
from .filters import MeetingFilter, VisitFilter
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import idempotent
from .pagination import KeysetPagination
from .parsers import SafeJSONParser
from .permissions import (
    CoordinatorWritesOthersRead,
    IsParticipantOrCoordinator,
    PublicReadCoordinatorWrites,
    caller_person,
    is_coordinator,
)
from .preconditions import IF_MATCH_PARAM, check_if_match, with_etag
from .schema import VisitdeskAutoSchema


class SafeTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; a key that cannot exist is refused without a query."""

    def authenticate_credentials(self, key):
        if not key or len(key) > 40 or "\x00" in key:
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class ApiMixin:
    """JSON in, JSON out, token or session auth (session writes need the CSRF token)."""

    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    authentication_classes = [SafeTokenAuthentication, SessionAuthentication]
    pagination_class = KeysetPagination  # keyset pages, ?page=N still answered (api/pagination.py)
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    schema = VisitdeskAutoSchema()


IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID). Repeating the request with the same key and body replays "
    "the first answer instead of creating twice; the same key with another body answers 422.",
)


class ScopedViewSet(ApiMixin, viewsets.GenericViewSet):
    """Coordinators see everything; a host sees what ``visible_ids`` gives; anyone else nothing."""

    permission_classes = [CoordinatorWritesOthersRead]
    visible_ids = None  # callable(person) -> queryset of pks

    def base_queryset(self):
        return self.queryset.all()

    def get_queryset(self):
        qs = self.base_queryset()
        user = self.request.user
        if is_coordinator(user):
            return qs
        person = caller_person(user)
        if person is None or self.visible_ids is None:
            return qs.none()
        return qs.filter(pk__in=type(self).visible_ids(person))


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    pass


# --- directory -------------------------------------------------------------------------------


@extend_schema(tags=["directory"])
class OrganisationViewSet(CrudViewSet):
    queryset = Organisation.objects.all()
    serializer_class = s.OrganisationSerializer
    visible_ids = staticmethod(visibility.organisation_ids)
    filterset_fields = ["kind", "country"]
    ordering_fields = ["name", "country", "created_at"]


@extend_schema(tags=["directory"])
class PersonViewSet(CrudViewSet):
    queryset = Person.objects.select_related("organisation").prefetch_related("expertise")
    serializer_class = s.PersonSerializer
    visible_ids = staticmethod(visibility.person_ids)
    filterset_fields = ["organisation", "language"]
    ordering_fields = ["name", "email", "created_at"]


@extend_schema(tags=["directory"])
class TopicViewSet(ApiMixin, viewsets.ModelViewSet):
    """Cooperation areas; anyone may read them (the public request form lists them)."""

    queryset = Topic.objects.all()
    serializer_class = s.TopicSerializer
    permission_classes = [PublicReadCoordinatorWrites]
    ordering_fields = ["name", "slug"]


@extend_schema(tags=["places"])
class VenueViewSet(CrudViewSet):
    queryset = Venue.objects.all()
    serializer_class = s.VenueSerializer
    visible_ids = staticmethod(visibility.venue_ids)
    filterset_fields = ["organisation", "country"]
    ordering_fields = ["name", "city"]


@extend_schema(tags=["places"])
class RoomViewSet(CrudViewSet):
    queryset = Room.objects.all()
    serializer_class = s.RoomSerializer
    visible_ids = staticmethod(visibility.room_ids)
    filterset_fields = ["venue"]
    ordering_fields = ["name", "capacity"]


# --- visits ----------------------------------------------------------------------------------


@extend_schema(tags=["visits"])
class DelegationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Delegations are created by visit requests; read-only here."""

    queryset = Delegation.objects.select_related("organisation", "lead").prefetch_related("members")
    serializer_class = s.DelegationSerializer
    visible_ids = staticmethod(visibility.delegation_ids)
    filterset_fields = ["organisation"]
    ordering_fields = ["name", "size"]


def _action_schema(request, summary: str, response=s.VisitSerializer):
    return extend_schema(request=request, responses={200: response}, summary=summary)


@extend_schema(tags=["visits"])
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Visits and their workflow. Requests come in through ``visit-requests``; coordinators decide here."""

    serializer_class = s.VisitSerializer
    visible_ids = staticmethod(visibility.visit_ids)
    filterset_class = VisitFilter
    ordering_fields = ["requested_at", "starts_on", "reference", "status"]

    def base_queryset(self):
        return visit_list()

    def _respond(self, visit):
        return Response(s.VisitSerializer(visit_list().get(pk=visit.pk), context=self.get_serializer_context()).data)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @_action_schema(s.VisitConfirmSerializer, "Confirm a requested visit (dates default to the first preferred window)")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        visit = self.get_object()
        data = self._input(s.VisitConfirmSerializer)
        visit = visit_services.visit_confirm(visit=visit, by=caller_person(request.user), **data)
        return self._respond(visit)

    @_action_schema(s.ReasonSerializer, "Decline a requested visit")
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        visit = self.get_object()
        data = self._input(s.ReasonSerializer)
        return self._respond(visit_services.visit_decline(visit=visit, by=caller_person(request.user), reason=data["reason"]))

    @_action_schema(s.ReasonSerializer, "Cancel a visit; its scheduled programme is cancelled with it")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        visit = self.get_object()
        data = self._input(s.ReasonSerializer)
        return self._respond(visit_services.visit_cancel(visit=visit, by=caller_person(request.user), reason=data["reason"]))

    @_action_schema(None, "Mark a confirmed visit whose last day has passed as completed")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        visit = self.get_object()
        return self._respond(visit_services.visit_complete(visit=visit, by=caller_person(request.user)))


# --- meetings --------------------------------------------------------------------------------

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
FIELD_NAMES = ("title", "description", "starts_at", "ends_at", "timezone", "room", "location", "online_url", "kind", "event")


def _participants(data) -> list[booking.ParticipantSpec]:
    return [booking.ParticipantSpec(person=p["person"], role=p["role"]) for p in data]


def _booker(request) -> booking.Booker:
    return booking.Booker(coordinator=is_coordinator(request.user))


def partial_if_match(request):
    """The API's ``If-Match`` check, run by the booking module on the locked, fresh row."""
    return functools.partial(check_if_match, request)


def _agenda(data) -> list[booking.AgendaSpec]:
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
class MeetingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    serializer_class = s.MeetingSerializer
    visible_ids = staticmethod(visibility.meeting_ids)
    conditional_writes = True  # ETag on reads, If-Match on writes (api/preconditions.py)
    filterset_class = MeetingFilter
    ordering_fields = ["starts_at", "ends_at", "title", "updated_at"]

    def base_queryset(self):
        if self.action == "list":  # bare rows: the list serializer reads relations per page (MeetingListSerializer)
            return Meeting.objects.annotate(listed_visit_id=F("programme_slot__visit_id"))
        return meeting_list().select_related("programme_slot")

    def get_serializer_context(self):
        # One meeting's answer carries its programme's check (api/programme_check.py); lists do not.
        return {**super().get_serializer_context(), "programme_check": self.action != "list"}

    def _respond(self, meeting, code=status.HTTP_200_OK):
        fresh = self.base_queryset().get(pk=meeting.pk)
        data = s.MeetingSerializer(fresh, context=self.get_serializer_context()).data
        return with_etag(Response(data, status=code), fresh)

    def retrieve(self, request, *args, **kwargs):
        meeting = self.get_object()
        return with_etag(Response(self.get_serializer(meeting).data), meeting)

    @idempotent("meeting")
    def create(self, request, *args, **kwargs):
        serializer = s.MeetingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = booking.meeting_create(
            visit=data.get("visit"), participants=_participants(data.get("participants", [])),
            agenda_items=_agenda(data.get("agenda_items", [])), override=data.get("override_availability", False),
            booker=_booker(request), **{k: v for k, v in data.items() if k in FIELD_NAMES},
        )
        return self._respond(meeting, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        meeting = self.get_object()
        serializer = s.MeetingInputSerializer(meeting, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = booking.meeting_change(
            meeting=meeting, changes={k: v for k, v in data.items() if k in FIELD_NAMES},
            participants=_participants(data["participants"]) if "participants" in data else None,
            agenda_items=_agenda(data["agenda_items"]) if "agenda_items" in data else None,
            visit=data.get("visit", booking.UNCHANGED),
            override=data.get("override_availability", False), booker=_booker(request),
            guard=partial_if_match(request),
        )
        return self._respond(meeting)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(request=s.RescheduleSerializer, responses={200: s.MeetingSerializer},
                   examples=[CONFLICT_EXAMPLE], summary="Move a meeting to another time")
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        meeting = self.get_object()
        serializer = s.RescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        meeting = booking.meeting_reschedule(
            meeting=meeting, starts_at=data["starts_at"], ends_at=data["ends_at"],
            override=data.get("override_availability", False), booker=_booker(request),
            guard=partial_if_match(request),
        )
        return self._respond(meeting)

    @extend_schema(request=None, responses={200: s.MeetingSerializer}, summary="Cancel a meeting (idempotent)")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        meeting = booking.meeting_cancel(meeting=self.get_object(), guard=partial_if_match(request))
        return self._respond(meeting)

    @extend_schema(request=s.RsvpSerializer, responses={200: s.MeetingSerializer},
                   summary="Answer an invitation: accepted, declined or tentative")
    @action(detail=True, methods=["post"], permission_classes=[IsParticipantOrCoordinator])
    def rsvp(self, request, pk=None):
        meeting = self.get_object()
        serializer = s.RsvpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        me = caller_person(request.user)
        person = serializer.validated_data.get("person") or me
        if person is None:
            raise ValidationError({"person": ["Say whose answer this is."]})
        if person != me and not is_coordinator(request.user):
            raise PermissionDenied("You can only answer for yourself.")
        participation = Participation.objects.filter(meeting=meeting, person=person).first()
        if participation is None:
            raise ValidationError({"person": ["This person does not take part in the meeting."]})
        booking.meeting_answer(participation=participation, answer=serializer.validated_data["rsvp"])
        return self._respond(meeting)


# --- public events ---------------------------------------------------------------------------


@extend_schema(tags=["public"])
class EventViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """Public events (info days, workshops, conferences) with their sessions; no account needed."""

    serializer_class = s.EventSerializer
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"
    filterset_fields = ["kind"]
    ordering_fields = ["title"]

    def get_queryset(self):
        return event_list(public_only=not is_coordinator(self.request.user))


# --- me --------------------------------------------------------------------------------------


def _me_person(request) -> Person:
    person = caller_person(request.user)
    if person is None:
        raise NotFound("No person is linked to this account.")
    return person


@extend_schema(tags=["me"])
class MeView(ApiMixin, APIView):
    @extend_schema(responses={200: s.MeSerializer}, summary="The caller's person, with their private calendar URLs")
    def get(self, request):
        person = _me_person(request)
        return Response(s.MeSerializer(person, context={"is_coordinator": is_coordinator(request.user)}).data)


@extend_schema(tags=["me"])
class MeRotateFeedTokenView(ApiMixin, APIView):
    @extend_schema(request=None, responses={200: s.MeSerializer},
                   summary="Replace the calendar token; the old feed URL answers 404 from now on")
    def post(self, request):
        person = person_rotate_feed_token(person=_me_person(request))
        return Response(s.MeSerializer(person, context={"is_coordinator": is_coordinator(request.user)}).data)


# --- public booking --------------------------------------------------------------------------

VISIT_REQUEST_EXAMPLE = OpenApiExample(
    "Cluster agency visit",
    request_only=True,
    value={
        "organisation": {"name": "Life Science Nord", "country": "DE", "website": "https://lifesciencenord.de"},
        "contact": {"name": "Dr. Hinrich Habeck", "email": "habeck@example.org", "language": "de"},
        "delegation": {"name": "Life Science Nord delegation", "size": 3,
                       "members": [{"name": "Anna Berg", "email": "berg@example.org", "job_title": "Project manager"}]},
        "preferred_windows": [{"start": "2027-03-10", "end": "2027-03-12"}],
        "topics": ["stem-cell-rd"],
        "purpose": "Cross-border R&D cooperation on cell therapeutics; joint Horizon Europe proposal.",
    },
)


class PublicMixin(ApiMixin):
    """No account: the private token in the path is the requester's credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]


@extend_schema(tags=["public"])
class VisitRequestCreateView(PublicMixin, APIView):
    """Public booking: no account needed. Answers with the reference and the requester's private status link."""

    throttle_scope = "visit_request"

    @extend_schema(
        request=s.VisitRequestInputSerializer,
        responses={201: s.VisitRequestCreatedSerializer},
        parameters=[IDEMPOTENCY_PARAM],
        examples=[VISIT_REQUEST_EXAMPLE],
        auth=[],
        summary="Ask for a visit (no account needed)",
    )
    @idempotent("visit-request")
    def post(self, request):
        serializer = s.VisitRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        data = visit_services.VisitRequestInput(
            organisation_name=d["organisation"]["name"],
            organisation_country=d["organisation"]["country"],
            organisation_website=d["organisation"]["website"],
            contact_name=d["contact"]["name"],
            contact_email=d["contact"]["email"],
            contact_language=d["contact"]["language"],
            delegation_name=d["delegation"]["name"],
            delegation_size=d["delegation"]["size"],
            members=tuple(
                visit_services.MemberSpec(name=m["name"], email=m["email"], job_title=m["job_title"])
                for m in d["delegation"]["members"]
            ),
            preferred_windows=tuple((w["start"], w["end"]) for w in d["preferred_windows"]),
            topics=tuple(d["topics"]),
            purpose=d["purpose"],
            duration=d["duration"],
        )
        visit = visit_services.visit_request_submit(data=data)
        body = s.VisitRequestCreatedSerializer({
            "reference": visit.reference,
            "status": visit.status,
            "status_url": visit_status_url(visit),
            "status_api_url": absolute(reverse("api:visit-request-detail", kwargs={"token": visit.status_token})),
        }).data
        return Response(body, status=status.HTTP_201_CREATED)


class RequesterMixin(PublicMixin):
    throttle_scope = "status"

    def visit_for(self, token: str):
        token = clean_token(token)
        visit = visit_by_status_token(token) if token else None
        if visit is None:
            raise NotFound("No visit request with this link.")
        return visit

    def render(self, visit, code=status.HTTP_200_OK) -> Response:
        visit = visit_by_status_token(visit.status_token)
        programme = list(programme_meetings(visit=visit)) if visit.status != visit.Status.REQUESTED else []
        response = Response(s.VisitRequestStatusSerializer(visit, context={"programme": programme}).data, status=code)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(tags=["public"])
class VisitRequestDetailView(RequesterMixin, APIView):
    """The private token from the status link is the requester's credential; a wrong token answers 404."""

    @extend_schema(responses={200: s.VisitRequestStatusSerializer}, auth=[],
                   summary="The requester's view of their request (token from the status link)")
    def get(self, request, token: str):
        return self.render(self.visit_for(token))


@extend_schema(tags=["public"])
class VisitRequestCancelView(RequesterMixin, APIView):
    @extend_schema(request=s.ReasonSerializer, responses={200: s.VisitRequestStatusSerializer}, auth=[],
                   summary="The requester cancels their visit")
    def post(self, request, token: str):
        visit = self.visit_for(token)
        serializer = s.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit = visit_services.visit_cancel(visit=visit, reason=serializer.validated_data["reason"])
        return self.render(visit)


@extend_schema(tags=["public"])
class VisitRequestMessageView(RequesterMixin, APIView):
    @extend_schema(request=s.VisitMessageInputSerializer, responses={201: s.VisitMessageSerializer}, auth=[],
                   summary="The requester asks for another date or sends a note")
    def post(self, request, token: str):
        visit = self.visit_for(token)
        serializer = s.VisitMessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = visit_services.visit_message_add(visit=visit, from_requester=True, **serializer.validated_data)
        return Response(s.VisitMessageSerializer(message).data, status=status.HTTP_201_CREATED)
