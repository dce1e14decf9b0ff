"""``/api/v1/absences/``: holidays, travel, illness. Hosts manage their own; the reason stays between them
and coordinators (a host only ever sees their own rows). Writes go through ``availability.services``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers

from availability import services as availability_services
from availability.models import Absence
from directory.models import Person

from .base import OwnedViewSet
from .fields import AwareDateTimeField, EndDateTimeField, SafePrimaryKeyRelatedField
from .filters import id_filterset
from .serializers import EndsAfterStartMixin


class AbsenceSerializer(EndsAfterStartMixin, serializers.ModelSerializer[Absence]):
    person = SafePrimaryKeyRelatedField(queryset=Person.objects.all(), required=False,
                                        help_text="Person id (a host: themselves, the default)")
    starts_at = AwareDateTimeField()
    ends_at = EndDateTimeField(help_text="ISO 8601 with offset; after starts_at")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   help_text="Private: shown to coordinators and the person only")

    class Meta:
        model = Absence
        fields = ["id", "person", "starts_at", "ends_at", "reason", "created_at"]
        read_only_fields = ["id", "created_at"]


@extend_schema(tags=["availability"])
class AbsenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OwnedViewSet[Absence],
):
    """Holidays, travel, illness. Hosts manage their own; the reason stays between them and coordinators."""

    queryset = Absence.objects.select_related("person")
    serializer_class = AbsenceSerializer
    filterset_class = id_filterset(Absence, ids=['person'])
    ordering_fields = ["starts_at", "ends_at"]

    def perform_create(self, serializer: serializers.BaseSerializer[Absence]) -> None:
        data: dict[str, Any] = serializer.validated_data
        serializer.instance = availability_services.absence_create(
            person=self.person_in(data), starts_at=data["starts_at"], ends_at=data["ends_at"],
            reason=data.get("reason", ""))

    def perform_update(self, serializer: serializers.BaseSerializer[Absence]) -> None:
        data: dict[str, Any] = dict(serializer.validated_data)
        if "person" in data:
            data["person"] = self.person_in(data)
        assert serializer.instance is not None
        serializer.instance = availability_services.absence_update(absence=serializer.instance, **data)

    def perform_destroy(self, instance: Absence) -> None:
        availability_services.absence_remove(absence=instance)
