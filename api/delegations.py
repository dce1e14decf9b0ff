"""``/api/v1/delegations/``: visiting delegations; created by visit requests, read-only here."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from visits.models import Delegation

from . import serializers as s
from . import visibility
from .base import ScopedViewSet
from .filters import id_filterset


@extend_schema(tags=["visits"])
class DelegationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet[Delegation]):
    """Delegations are created by visit requests; read-only here."""

    queryset = Delegation.objects.select_related("organisation", "lead").prefetch_related("members")
    serializer_class = s.DelegationSerializer
    visible_ids = staticmethod(visibility.delegation_ids)
    filterset_class = id_filterset(Delegation, ids=['organisation'])
    ordering_fields = ["name", "size"]
