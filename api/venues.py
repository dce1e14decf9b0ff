"""``/api/v1/venues/``: where meetings happen (address, time zone, public holidays' subdivision)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from events.models import Venue

from . import serializers as s
from . import visibility
from .base import CrudViewSet
from .filters import id_filterset


@extend_schema(tags=["places"])
class VenueViewSet(CrudViewSet[Venue]):
    queryset = Venue.objects.all()
    serializer_class = s.VenueSerializer
    visible_ids = staticmethod(visibility.venue_ids)
    filterset_class = id_filterset(Venue, ids=['organisation'], fields=['country'])
    ordering_fields = ["name", "city"]
