"""``GET /api/v1/meetings/{id}/history/`` and ``/visits/{id}/history/``: who changed what and when.

Coordinators only (403 for everyone else signed in, whatever the id, so the answer says nothing
about which ids exist). Entries come from ``history.selectors``: newest first, each with the fields
it changed as ``[before, after]``. ``recorded`` is false where no history is kept (SQLite, the
embedded development set-up: the triggers are PostgreSQL's); ``entries`` is then empty.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import is_coordinator
from events.models import Meeting
from history.context import recording
from history.selectors import DEFAULT_LIMIT, meeting_history, visit_history
from visits.models import Visit

from .views import ApiMixin


class IsCoordinator(BasePermission):
    message = "Only coordinators may read the change history."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and is_coordinator(request.user))


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    model = serializers.CharField(help_text="meeting, participation, agenda item, programme slot or visit")
    object_id = serializers.IntegerField()
    label = serializers.CharField(help_text="The row as it was then: a title, or the participant and role")
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(allow_null=True), min_length=2, max_length=2),
        help_text="field → [before, after]; before is null for a creation, after for a deletion",
    )
    user_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_blank=True)
    via = serializers.CharField(allow_blank=True, help_text="api, admin, web or worker; blank outside a request or task")
    url = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True, help_text="The request's id in the logs")
    task = serializers.CharField(allow_blank=True, help_text="The Celery task that made the change")


class HistorySerializer(serializers.Serializer):
    recorded = serializers.BooleanField(help_text="False where no history is kept (SQLite)")
    entries = HistoryEntrySerializer(many=True)


def _answer(entries) -> Response:
    return Response(HistorySerializer({"recorded": recording(), "entries": entries}).data)


class MeetingHistoryView(ApiMixin, APIView):
    permission_classes = [IsCoordinator]

    @extend_schema(responses=HistorySerializer, summary="A meeting's change history",
                   description=f"The meeting's own changes and those of its participations, agenda items and programme "
                               f"link; newest first, at most {DEFAULT_LIMIT}. Coordinators only.")
    def get(self, request, pk: int):
        return _answer(meeting_history(get_object_or_404(Meeting, pk=pk)))


class VisitHistoryView(ApiMixin, APIView):
    permission_classes = [IsCoordinator]

    @extend_schema(responses=HistorySerializer, summary="A visit's change history",
                   description=f"The visit's own changes and the histories of every meeting ever in its programme; "
                               f"newest first, at most {DEFAULT_LIMIT}. Coordinators only.")
    def get(self, request, pk: int):
        return _answer(visit_history(get_object_or_404(Visit, pk=pk)))
