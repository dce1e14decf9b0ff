"""``/api/v1/organisations/``: the centre, visiting organisations, partners (reference data, coordinators write)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from directory.models import Organisation

from . import serializers as s
from . import visibility
from .base import CrudViewSet


@extend_schema(tags=["directory"])
class OrganisationViewSet(CrudViewSet[Organisation]):
    queryset = Organisation.objects.all()
    serializer_class = s.OrganisationSerializer
    visible_ids = staticmethod(visibility.organisation_ids)
    filterset_fields = ["kind", "country"]
    ordering_fields = ["name", "country", "created_at"]
