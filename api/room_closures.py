"""``/api/v1/room-closures/``: when a room cannot be booked besides its daily hours. Hosts read (to plan);
coordinators write, through ``availability.services``; the reason is for coordinators only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers

from availability import services as availability_services
from availability.models import RoomClosure
from events.models import Room

from .base import ApiViewSet, HostsReadCoordinatorsWrite, is_coordinator
from .fields import AwareDateTimeField, EndDateTimeField, SafePrimaryKeyRelatedField
from .filters import id_filterset
from .serializers import EndsAfterStartMixin


class RoomClosureSerializer(EndsAfterStartMixin, serializers.ModelSerializer[RoomClosure]):
    room = SafePrimaryKeyRelatedField(queryset=Room.objects.all())
    starts_at = AwareDateTimeField()
    ends_at = EndDateTimeField(help_text="ISO 8601 with offset; after starts_at")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   help_text="Private: shown to coordinators only (hosts see that the room is closed)")

    class Meta:
        model = RoomClosure
        fields = ["id", "room", "starts_at", "ends_at", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: RoomClosure) -> Any:
        """Like an absence's reason, a closure's ("Asbestos inspection (internal)") is for coordinators."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not is_coordinator(request.user):
            data.pop("reason", None)
        return data


@extend_schema(tags=["availability"])
class RoomClosureViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet[RoomClosure],
):
    """When a room cannot be booked besides its daily hours. Hosts read (to plan); coordinators write."""

    queryset = RoomClosure.objects.all()
    serializer_class = RoomClosureSerializer
    permission_classes = [HostsReadCoordinatorsWrite]
    filterset_class = id_filterset(RoomClosure, ids=['room'])
    ordering_fields = ["starts_at", "ends_at"]

    def perform_create(self, serializer: serializers.BaseSerializer[RoomClosure]) -> None:
        serializer.instance = availability_services.room_closure_create(**serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer[RoomClosure]) -> None:
        assert serializer.instance is not None
        serializer.instance = availability_services.room_closure_update(closure=serializer.instance,
                                                                        **serializer.validated_data)

    def perform_destroy(self, instance: RoomClosure) -> None:
        availability_services.room_closure_remove(closure=instance)
