"""``GET /api/v1/meetings/{id}/history/`` and ``/visits/{id}/history/``: who changed what and when.

Coordinators only (403 for everyone else signed in, whatever the id, so the answer says nothing
about which ids exist). Entries come from ``history.selectors``: newest first, each with the fields
it changed as ``[before, after]``. ``recorded`` is false where no history is kept (SQLite, the
embedded development set-up: the triggers are PostgreSQL's); ``entries`` is then empty.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from events.models import Meeting
from history.context import recording
from history.selectors import DEFAULT_LIMIT, Entry, meeting_history, visit_history
from visits.models import Visit

from .base import ApiViewSet, IsCoordinator, int_or_404


class HistoryReaders(IsCoordinator):
    message = "Only coordinators may read the change history."


class HistoryEntrySerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    model = serializers.CharField(help_text="meeting, participation, agenda item, programme slot or visit")
    object_id = serializers.IntegerField()
    # Named like Field.label; the metaclass moves declared fields out of the class, so nothing is shadowed.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The row as it was then: a title, or the participant and role")
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


class HistorySerializer(serializers.Serializer[Any]):
    recorded = serializers.BooleanField(help_text="False where no history is kept (SQLite)")
    entries = HistoryEntrySerializer(many=True)


def _answer(entries: list[Entry]) -> Response:
    return Response(HistorySerializer({"recorded": recording(), "entries": entries}).data)


class MeetingHistoryViewSet(ApiViewSet[Meeting]):
    """``GET /meetings/{id}/history/`` (registered under the meetings prefix, route ``meeting-history``)."""

    permission_classes = [HistoryReaders]
    queryset = Meeting.objects.all()
    pagination_class = None

    @extend_schema(responses=HistorySerializer, summary="A meeting's change history",
                   description=f"The meeting's own changes and those of its participations, agenda items and programme "
                               f"link; newest first, at most {DEFAULT_LIMIT}. Coordinators only.")
    @action(detail=True, methods=["get"], url_path="history")
    def history(self, request: Request, pk: str | None = None) -> Response:
        return _answer(meeting_history(get_object_or_404(Meeting, pk=int_or_404(pk))))


class VisitHistoryViewSet(ApiViewSet[Visit]):
    """``GET /visits/{id}/history/`` (registered under the visits prefix, route ``visit-history``)."""

    permission_classes = [HistoryReaders]
    queryset = Visit.objects.all()
    pagination_class = None

    @extend_schema(responses=HistorySerializer, summary="A visit's change history",
                   description=f"The visit's own changes and the histories of every meeting ever in its programme; "
                               f"newest first, at most {DEFAULT_LIMIT}. Coordinators only.")
    @action(detail=True, methods=["get"], url_path="history")
    def history(self, request: Request, pk: str | None = None) -> Response:
        return _answer(visit_history(get_object_or_404(Visit, pk=int_or_404(pk))))
