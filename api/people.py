"""``/api/v1/people/``: the directory's people, and reviewing people typed into public visit requests.

Anonymous requests never read or change existing people: their contact and members are new rows
marked ``needs_review``. After looking at a request, a coordinator either accepts such a person as
the directory's person for their address (``review/``) or merges them into the existing person with
the same address (``merge/``: visits, delegations, participations and mails follow).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from directory import services as directory_services
from directory.models import Person

from . import serializers as s
from . import visibility
from .base import CrudViewSet, int_or_404
from .fields import SafePrimaryKeyRelatedField
from .filters import id_filterset


class MergeInputSerializer(serializers.Serializer[Any]):
    into = SafePrimaryKeyRelatedField(queryset=Person.objects.filter(needs_review=False),
                                      help_text="The existing (reviewed) person with the same e-mail address")


@extend_schema(tags=["directory"])
class PersonViewSet(CrudViewSet[Person]):
    queryset = Person.objects.select_related("organisation").prefetch_related("expertise")
    serializer_class = s.PersonSerializer
    visible_ids = staticmethod(visibility.person_ids)
    filterset_class = id_filterset(Person, ids=['organisation'], fields=['language'])
    ordering_fields = ["name", "email", "created_at"]

    def _for_review(self, pk: Any) -> Person:
        if not self.coordinator:
            # Hosts may see some people, but reviewing the directory is a coordinator's job. Unknown ids
            # answer the same 403, so nothing about who exists leaks.
            raise PermissionDenied("Only coordinators review people from visit requests.")
        person = Person.objects.filter(pk=int_or_404(pk)).select_related("organisation").first()
        if person is None:
            raise NotFound()
        return person

    @extend_schema(request=None, responses={200: s.PersonSerializer},
                   summary="Accept a person from a visit request as the person for their address")
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def review(self, request: Request, pk: str) -> Response:
        person = directory_services.person_mark_reviewed(person=self._for_review(pk))
        return Response(s.PersonSerializer(person).data)

    @extend_schema(request=MergeInputSerializer, responses={200: s.PersonSerializer},
                   summary="Merge a person from a visit request into the existing person with the same address")
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def merge(self, request: Request, pk: str) -> Response:
        source = self._for_review(pk)
        into = directory_services.person_merge(source=source, into=self.validated(MergeInputSerializer)["into"])
        return Response(s.PersonSerializer(into).data)
