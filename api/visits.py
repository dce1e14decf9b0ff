"""``/api/v1/visits/``: visits and their workflow. Requests come in through ``visit-requests``; coordinators decide here.

Also the visit's private links (``rotate-links/``): a visit has two secrets in URLs, the requester's
status page (it can cancel the visit) and the programme feed (and the single-meeting links under
it). When one leaks — forwarded to a mailing list, pasted into a ticket — a coordinator replaces it;
the old URL answers 404 from then on, like a URL that never existed. The answer carries the new
links, to pass on to whoever should have them.

The visit's programme document is ``api/programme.py``, its proposals ``api/proposals.py``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from calendars.links import feed_links, visit_feed_url
from visits import services as visit_services
from visits.links import visit_status_url
from visits.models import Visit
from visits.selectors import visit_list

from . import serializers as s
from . import visibility
from .base import ScopedViewSet, int_or_404
from .filters import VisitFilter

#: The secrets ``rotate-links/`` replaces (also the schema's ``VisitLinkEnum``).
LINKS = ("status", "feed")


class RotateLinksInputSerializer(serializers.Serializer[Any]):
    links = serializers.ListField(
        child=serializers.ChoiceField(choices=LINKS), allow_empty=False, default=list(LINKS),
        help_text="Which secrets to replace: `status` (the requester's page), `feed` (the programme feed). "
                  "Default: both.",
    )


class VisitLinksSerializer(serializers.Serializer[Any]):
    status_url = serializers.URLField()
    calendar_url = serializers.URLField()
    webcal_url = serializers.CharField()
    rotated = serializers.ListField(child=serializers.CharField(), help_text="The links replaced by this call.")


@extend_schema(tags=["visits"])
class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet[Visit]):
    """Visits and their workflow. Requests come in through ``visit-requests``; coordinators decide here."""

    serializer_class = s.VisitSerializer
    visible_ids = staticmethod(visibility.visit_ids)
    filterset_class = VisitFilter
    ordering_fields = ["requested_at", "starts_on", "reference", "status"]

    def base_queryset(self) -> QuerySet[Visit]:
        return visit_list()

    def _respond(self, visit: Visit) -> Response:
        return Response(s.VisitSerializer(visit_list().get(pk=visit.pk), context=self.get_serializer_context()).data)

    @extend_schema(request=s.VisitConfirmSerializer, responses={200: s.VisitSerializer},
                   summary="Confirm a requested visit (dates default to the first preferred window)")
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        visit = self.get_object()
        data = self.validated(s.VisitConfirmSerializer)
        return self._respond(visit_services.visit_confirm(visit=visit, by=self.caller, **data))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.VisitSerializer}, summary="Decline a requested visit")
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        visit = self.get_object()
        data = self.validated(s.ReasonSerializer)
        return self._respond(visit_services.visit_decline(visit=visit, by=self.caller, reason=data["reason"]))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.VisitSerializer},
                   summary="Cancel a visit; its scheduled programme is cancelled with it")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        visit = self.get_object()
        data = self.validated(s.ReasonSerializer)
        return self._respond(visit_services.visit_cancel(visit=visit, by=self.caller, reason=data["reason"]))

    @extend_schema(request=None, responses={200: s.VisitSerializer},
                   summary="Mark a confirmed visit whose last day has passed as completed")
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        visit = self.get_object()
        return self._respond(visit_services.visit_complete(visit=visit, by=self.caller))

    @extend_schema(request=RotateLinksInputSerializer, responses={200: VisitLinksSerializer},
                   summary="Replace a visit's status and/or feed link; the old URLs answer 404 from now on")
    @action(detail=True, methods=["post"], url_path="rotate-links", permission_classes=[IsAuthenticated])
    def rotate_links(self, request: Request, pk: str) -> Response:
        """Coordinators only: the answer carries the new links, to pass on to whoever should have them."""
        visit_id = int_or_404(pk)
        if not self.coordinator:
            # A host may see a visit they take part in, but only coordinators may cut the requester
            # off their page; a visit the caller cannot see is 404, as everywhere in the API.
            person = self.caller
            if person is not None and visibility.visit_ids(person).filter(pk=visit_id).exists():
                raise PermissionDenied("Only coordinators may rotate a visit's links.")
            raise NotFound()
        visit = Visit.objects.filter(pk=visit_id).first()
        if visit is None:
            raise NotFound()
        rotated = sorted(set(self.validated(RotateLinksInputSerializer)["links"]), key=LINKS.index)
        if "status" in rotated:
            visit = visit_services.visit_rotate_status_token(visit=visit)
        if "feed" in rotated:
            visit = visit_services.visit_rotate_feed_token(visit=visit)
        feed = visit_feed_url(visit)
        return Response(VisitLinksSerializer({
            "status_url": visit_status_url(visit), "calendar_url": feed, "webcal_url": feed_links(feed)["webcal"],
            "rotated": rotated,
        }).data)
