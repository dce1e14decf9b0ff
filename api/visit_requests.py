"""``/api/v1/visit-requests/``: public booking, no account needed.

``POST`` asks for a visit and answers with the reference and the requester's private status link;
the token in that link is the requester's credential for reading the request, cancelling it and
sending a message (a wrong token answers 404).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from core.links import absolute
from visits import services as visit_services
from visits.links import visit_status_url
from visits.models import Visit
from visits.selectors import programme_meetings, visit_by_status_token

from . import serializers as s
from .base import IDEMPOTENCY_PARAM, PublicViewSet, idempotent
from .fields import clean_token

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


def _request_input(d: dict[str, Any]) -> visit_services.VisitRequestInput:
    return visit_services.VisitRequestInput(
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


TOKEN_PARAM = OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH,
                               description="The private token from the requester's status link")


@extend_schema(tags=["public"])
class VisitRequestViewSet(PublicViewSet[Visit]):
    # Public booking, no account needed; afterwards the private token from the status link is the credential.

    collection_name = "visit-request-create"
    lookup_field = "token"
    lookup_value_regex = "[^/]+"
    queryset = Visit.objects.none()  # for the schema generator only: visits are found by their status token

    @property
    def throttle_scope(self) -> str:
        """``ScopedRateThrottle``'s bucket: asking for a visit is rarer than looking at one."""
        return "visit_request" if self.action == "create" else "status"

    def _visit_for(self, token: str) -> Visit:
        cleaned = clean_token(token)
        visit = visit_by_status_token(cleaned) if cleaned else None
        if visit is None:
            raise NotFound("No visit request with this link.")
        return visit

    def _render(self, visit: Visit) -> Response:
        fresh = visit_by_status_token(visit.status_token)
        assert fresh is not None
        programme = list(programme_meetings(visit=fresh)) if fresh.status != Visit.Status.REQUESTED else []
        response = Response(s.VisitRequestStatusSerializer(fresh, context={"programme": programme}).data)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        request=s.VisitRequestInputSerializer,
        responses={201: s.VisitRequestCreatedSerializer},
        parameters=[IDEMPOTENCY_PARAM],
        examples=[VISIT_REQUEST_EXAMPLE],
        auth=[],
        summary="Ask for a visit (no account needed)",
    )
    @idempotent("visit-request")
    def create(self, request: Request) -> Response:
        """Public booking: no account needed. Answers with the reference and the requester's private status link."""
        visit = visit_services.visit_request_submit(data=_request_input(self.validated(s.VisitRequestInputSerializer)))
        body = s.VisitRequestCreatedSerializer({
            "reference": visit.reference,
            "status": visit.status,
            "status_url": visit_status_url(visit),
            "status_api_url": absolute(reverse("api:visit-request-detail", kwargs={"token": visit.status_token})),
        }).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.VisitRequestStatusSerializer}, auth=[], parameters=[TOKEN_PARAM],
                   summary="The requester's view of their request (token from the status link)")
    def retrieve(self, request: Request, token: str) -> Response:
        """The private token from the status link is the requester's credential; a wrong token answers 404."""
        return self._render(self._visit_for(token))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.VisitRequestStatusSerializer}, auth=[], parameters=[TOKEN_PARAM],
                   summary="The requester cancels their visit")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, token: str) -> Response:
        """No account: the private token in the path is the requester's credential."""
        visit = self._visit_for(token)
        data = self.validated(s.ReasonSerializer)
        return self._render(visit_services.visit_cancel(visit=visit, reason=data["reason"]))

    @extend_schema(request=s.VisitMessageInputSerializer, responses={201: s.VisitMessageSerializer}, auth=[], parameters=[TOKEN_PARAM],
                   summary="The requester asks for another date or sends a note")
    @action(detail=True, methods=["post"])
    def messages(self, request: Request, token: str) -> Response:
        """No account: the private token in the path is the requester's credential."""
        visit = self._visit_for(token)
        data = self.validated(s.VisitMessageInputSerializer)
        message = visit_services.visit_message_add(visit=visit, from_requester=True, **data)
        return Response(s.VisitMessageSerializer(message).data, status=status.HTTP_201_CREATED)
