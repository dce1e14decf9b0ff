"""``/api/v1/people/{id}/working-hours/``: a person's weekly working hours and dated exceptions, in their zone.

No weekly intervals at all means no limit. Exceptions replace the weekday's intervals on their
date; an exception without start and end is a day off. Coordinators read and replace anyone's; a
host only their own (another person they may see: 403; the rest: 404).
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

from availability import services as availability_services
from availability.models import HoursException, WeeklyHours
from directory.models import Person

from . import visibility
from .base import ApiViewSet, int_or_404
from .fields import BoundedDateField, LocalTimeField


class WeeklyHoursSerializer(serializers.Serializer[Any]):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="Monday = 0 … Sunday = 6")
    start = LocalTimeField(format="%H:%M", help_text="Local time in the person's zone, e.g. 09:00")
    end = LocalTimeField(format="%H:%M", help_text="After start")


class HoursExceptionSerializer(serializers.Serializer[Any]):
    date = BoundedDateField()
    start = LocalTimeField(format="%H:%M", allow_null=True, required=False, default=None,
                           help_text="Empty (with end) = not working that day")
    end = LocalTimeField(format="%H:%M", allow_null=True, required=False, default=None,
                         help_text="After start; empty with start")


class WorkingHoursSerializer(serializers.Serializer[Any]):
    timezone = serializers.CharField(read_only=True, help_text="The person's zone the times are in")
    weekly = serializers.ListSerializer[Any](child=WeeklyHoursSerializer(), max_length=7 * 12)
    exceptions = serializers.ListSerializer[Any](child=HoursExceptionSerializer(), required=False, max_length=2000)


def _body(person: Person) -> Any:
    return WorkingHoursSerializer({
        "timezone": person.timezone,
        "weekly": list(WeeklyHours.objects.filter(person=person).order_by("weekday", "start")),
        "exceptions": list(HoursException.objects.filter(person=person).order_by("date", "start")),
    }).data


@extend_schema(tags=["availability"])
class WorkingHoursViewSet(ApiViewSet[Person]):
    """A person's weekly working hours and dated exceptions, in their own time zone.

    No weekly intervals at all means no limit. Exceptions replace the weekday's intervals on their
    date; an exception without start and end is a day off.
    """

    permission_classes = [IsAuthenticated]
    queryset = Person.objects.none()  # for the schema generator only: the person is looked up by _person

    def _person(self, pk: Any) -> Person:
        """Coordinators: anyone. A host: themselves (others they may see: 403; the rest: 404)."""
        person = Person.objects.filter(pk=int_or_404(pk)).first()
        if person is None:
            raise NotFound("No such person.")
        if self.coordinator:
            return person
        me = self.caller
        if me is not None and me.pk == person.pk:
            return person
        if me is not None and visibility.person_ids(me).filter(pk=person.pk).exists():
            raise PermissionDenied("Hosts may only see and change their own working hours.")
        raise NotFound("No such person.")

    @extend_schema(methods=["GET"], responses={200: WorkingHoursSerializer}, summary="A person's working hours")
    @extend_schema(methods=["PUT"], request=WorkingHoursSerializer, responses={200: WorkingHoursSerializer},
                   summary="Replace a person's working hours (a host: their own)")
    @action(detail=True, methods=["get", "put"], url_path="working-hours")
    def working_hours(self, request: Request, pk: str) -> Response:
        person = self._person(pk)
        if request.method == "PUT":
            data = self.validated(WorkingHoursSerializer)
            availability_services.working_hours_set(
                person=person,
                weekly=[availability_services.WeeklySpec(**w) for w in data["weekly"]],
                exceptions=[availability_services.ExceptionSpec(**e) for e in data.get("exceptions", [])],
            )
        return Response(_body(person))
