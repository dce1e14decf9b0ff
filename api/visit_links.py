"""Rotating a visit's private links: ``POST /api/v1/visits/{id}/rotate-links/``.

A visit has two secrets in URLs: the requester's status page (it can cancel the visit) and the
programme feed (and the single-meeting links under it). When one leaks — forwarded to a mailing
list, pasted into a ticket — a coordinator replaces it; the old URL answers 404 from then on, like a
URL that never existed. The answer carries the new links, to pass on to whoever should have them.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from calendars.links import feed_links, visit_feed_url
from visits import services as visit_services
from visits.links import visit_status_url
from visits.models import Visit

from . import visibility
from .permissions import caller_person, is_coordinator
from .views import ApiMixin

LINKS = ("status", "feed")


class RotateLinksInputSerializer(serializers.Serializer):
    links = serializers.ListField(
        child=serializers.ChoiceField(choices=LINKS), allow_empty=False, default=list(LINKS),
        help_text="Which secrets to replace: `status` (the requester's page), `feed` (the programme feed). "
                  "Default: both.",
    )


class VisitLinksSerializer(serializers.Serializer):
    status_url = serializers.URLField()
    calendar_url = serializers.URLField()
    webcal_url = serializers.CharField()
    rotated = serializers.ListField(child=serializers.CharField(), help_text="The links replaced by this call.")


@extend_schema(tags=["visits"])
class VisitRotateLinksView(ApiMixin, APIView):
    @extend_schema(request=RotateLinksInputSerializer, responses={200: VisitLinksSerializer},
                   summary="Replace a visit's status and/or feed link; the old URLs answer 404 from now on")
    def post(self, request, pk: int):
        if not is_coordinator(request.user):
            # A host may see a visit they take part in, but only coordinators may cut the requester
            # off their page; a visit the caller cannot see is 404, as everywhere in the API.
            person = caller_person(request.user)
            if person is not None and visibility.visit_ids(person).filter(pk=pk).exists():
                raise PermissionDenied("Only coordinators may rotate a visit's links.")
            raise NotFound()
        visit = Visit.objects.filter(pk=pk).first()
        if visit is None:
            raise NotFound()
        serializer = RotateLinksInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rotated = sorted(set(serializer.validated_data["links"]), key=LINKS.index)
        if "status" in rotated:
            visit = visit_services.visit_rotate_status_token(visit=visit)
        if "feed" in rotated:
            visit = visit_services.visit_rotate_feed_token(visit=visit)
        feed = visit_feed_url(visit)
        return Response(VisitLinksSerializer({
            "status_url": visit_status_url(visit), "calendar_url": feed, "webcal_url": feed_links(feed)["webcal"],
            "rotated": rotated,
        }).data)
