"""``/api/v1/events/``: public events (info days, workshops, conferences) with their sessions; no account needed."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.permissions import AllowAny
from rest_framework.throttling import ScopedRateThrottle

from events.models import Event
from events.selectors import event_list

from . import serializers as s
from .base import ApiViewSet


@extend_schema(tags=["public"])
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet[Event]):
    """Public events (info days, workshops, conferences) with their sessions; no account needed.

    Signed-in coordinators also see the events that are not public.
    """

    serializer_class = s.EventSerializer
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public"
    filterset_fields = ["kind"]
    ordering_fields = ["title"]

    def get_queryset(self) -> QuerySet[Event]:
        return event_list(public_only=not self.coordinator)
