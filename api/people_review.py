"""Reviewing people typed into public visit requests: ``POST /api/v1/people/{id}/review/`` and
``POST /api/v1/people/{id}/merge/`` (coordinators).

Anonymous requests never read or change existing people: their contact and members are new rows
marked ``needs_review``. After looking at a request, a coordinator either accepts such a person as
the directory's person for their address (review) or merges them into the existing person with
the same address (merge: visits, delegations, participations and mails follow).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from directory import services as directory_services
from directory.models import Person

from . import serializers as s
from .fields import SafePrimaryKeyRelatedField
from .permissions import is_coordinator
from .views import ApiMixin


class MergeInputSerializer(serializers.Serializer):
    into = SafePrimaryKeyRelatedField(queryset=Person.objects.filter(needs_review=False),
                                      help_text="The existing (reviewed) person with the same e-mail address")


def _person_for_coordinator(request, pk: int) -> Person:
    if not is_coordinator(request.user):
        # Hosts may see some people, but reviewing the directory is a coordinator's job. Unknown ids
        # answer the same 403, so nothing about who exists leaks.
        raise PermissionDenied("Only coordinators review people from visit requests.")
    person = Person.objects.filter(pk=pk).select_related("organisation").first()
    if person is None:
        raise NotFound()
    return person


@extend_schema(tags=["directory"])
class PersonReviewView(ApiMixin, APIView):
    @extend_schema(request=None, responses={200: s.PersonSerializer},
                   summary="Accept a person from a visit request as the person for their address")
    def post(self, request, pk: int):
        person = directory_services.person_mark_reviewed(person=_person_for_coordinator(request, pk))
        return Response(s.PersonSerializer(person).data)


@extend_schema(tags=["directory"])
class PersonMergeView(ApiMixin, APIView):
    @extend_schema(request=MergeInputSerializer, responses={200: s.PersonSerializer},
                   summary="Merge a person from a visit request into the existing person with the same address")
    def post(self, request, pk: int):
        source = _person_for_coordinator(request, pk)
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        into = directory_services.person_merge(source=source, into=serializer.validated_data["into"])
        return Response(s.PersonSerializer(into).data)
