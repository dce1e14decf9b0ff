"""``/api/v1/rooms/``: a venue's rooms (capacity, bookable hours, dining)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from events.models import Room

from . import serializers as s
from . import visibility
from .base import CrudViewSet
from .filters import id_filterset


@extend_schema(tags=["places"])
class RoomViewSet(CrudViewSet[Room]):
    queryset = Room.objects.all()
    serializer_class = s.RoomSerializer
    visible_ids = staticmethod(visibility.room_ids)
    filterset_class = id_filterset(Room, ids=['venue'])
    ordering_fields = ["name", "capacity"]
