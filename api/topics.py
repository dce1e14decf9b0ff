"""``/api/v1/topics/``: cooperation areas; anyone may read them (the public request form lists them)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from directory.models import Topic

from . import serializers as s
from .base import ApiViewSet, PublicReadCoordinatorWrites


@extend_schema(tags=["directory"])
class TopicViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet[Topic],
):
    """Cooperation areas; anyone may read them (the public request form lists them)."""

    queryset = Topic.objects.all()
    serializer_class = s.TopicSerializer
    permission_classes = [PublicReadCoordinatorWrites]
    ordering_fields = ["name", "slug"]
