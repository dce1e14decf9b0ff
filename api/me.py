"""``/api/v1/me/``: the caller's own person, with their private calendar URLs; replacing the calendar token."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from directory.models import Person
from directory.services import person_rotate_feed_token

from . import serializers as s
from .base import ApiViewSet, me_or_404


@extend_schema(tags=["me"])
class MeViewSet(ApiViewSet[Person]):
    singleton = True
    collection_name = "me"
    pagination_class = None
    filter_backends = []

    def _render(self, person: Person) -> Response:
        return Response(s.MeSerializer(person, context={"is_coordinator": self.coordinator}).data)

    @extend_schema(responses={200: s.MeSerializer}, summary="The caller's person, with their private calendar URLs")
    def retrieve(self, request: Request) -> Response:
        return self._render(me_or_404(request))

    @extend_schema(request=None, responses={200: s.MeSerializer},
                   summary="Replace the calendar token; the old feed URL answers 404 from now on")
    @action(detail=False, methods=["post"], url_path="rotate-feed-token")
    def rotate_feed_token(self, request: Request) -> Response:
        return self._render(person_rotate_feed_token(person=me_or_404(request)))
