"""Webhook endpoints (coordinators only) and the payloads Visitdesk sends them.

    GET/POST          /api/v1/webhooks/                   list; register (the answer holds the secret, once)
    GET/PATCH/DELETE  /api/v1/webhooks/{id}/              read, change (url, event_types, description, is_active)
    GET               /api/v1/webhooks/{id}/deliveries/   the delivery log: payload, status codes, attempts
    POST              /api/v1/webhooks/{id}/test/         queue a ``webhook.test`` event for this endpoint
    POST              /api/v1/webhooks/{id}/rotate-secret/  a new secret (the old one signs for 24 more hours)

Every write is a ``webhooks.services`` call; the payload shapes below are documentation of what
``webhooks.payloads`` builds (one component per event type, ``WebhookPayload`` by ``type``).
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from webhooks import selectors, services
from webhooks.delivery import body_of
from webhooks.models import TEST_EVENT, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .base import ApiViewSet, IsCoordinator


class CoordinatorsOnly(IsCoordinator):
    """Without credentials 401; signed in but not a coordinator 403 with this message."""

    message = "Only coordinators manage webhooks."


class WebhookWriteThrottle(UserRateThrottle):
    """Registering or changing an endpoint resolves its host, and a test event makes the worker POST:
    per user, one rate (``VISITDESK_THROTTLE_WEBHOOKS``)."""

    scope = "webhooks"


# --- the payloads, for the schema ----------------------------------------------------------------


class WebhookRoomSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class WebhookParticipantSerializer(serializers.Serializer[Any]):
    person = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField(help_text="chair, host, presenter or guest")
    rsvp = serializers.CharField(help_text="needs-action, accepted, declined or tentative")


class WebhookMeetingSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    uid = serializers.CharField(help_text="The iCalendar UID, as in invites and feeds")
    sequence = serializers.IntegerField(help_text="The iCalendar SEQUENCE: rises with every change")
    status = serializers.CharField(help_text="scheduled or cancelled")
    title = serializers.CharField()
    kind = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    timezone = serializers.CharField()
    room = WebhookRoomSerializer(allow_null=True)
    location = serializers.CharField()
    online_url = serializers.CharField()
    visit = serializers.IntegerField(allow_null=True, help_text="The visit whose programme holds it")
    participants = WebhookParticipantSerializer(many=True)


class WebhookMeetingBriefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    uid = serializers.CharField()
    sequence = serializers.IntegerField()
    status = serializers.CharField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = serializers.CharField(help_text="The room's name, or the free-text location")


class WebhookVisitSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField()
    organisation = serializers.CharField()
    delegation = serializers.CharField()
    delegation_size = serializers.IntegerField()
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    timezone = serializers.CharField()
    requested_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


class WebhookMeetingDataSerializer(serializers.Serializer[Any]):
    meeting = WebhookMeetingSerializer()


class WebhookMeetingChangedDataSerializer(WebhookMeetingDataSerializer):
    changes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="field → [before, after], as the update mails say it")


class WebhookVisitDataSerializer(serializers.Serializer[Any]):
    visit = WebhookVisitSerializer()


class WebhookProgrammeDataSerializer(serializers.Serializer[Any]):
    visit = WebhookVisitSerializer()
    meetings = WebhookMeetingBriefSerializer(many=True)


class WebhookAnswerDataSerializer(serializers.Serializer[Any]):
    meeting = WebhookMeetingBriefSerializer()
    person = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    answer = serializers.CharField(help_text="accepted, declined or tentative")
    responded_at = serializers.DateTimeField(allow_null=True)


class WebhookTestDataSerializer(serializers.Serializer[Any]):
    endpoint = serializers.IntegerField()
    message = serializers.CharField()


def _envelope(name: str, event_type: str,
              data: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The body of one event type, version 1: ``{"type", "version", "timestamp", "data"}``."""
    fields = {
        "type": serializers.CharField(help_text=f"Always “{event_type}”"),
        "version": serializers.IntegerField(help_text="The payload's version (1); a breaking change is a new one"),
        "timestamp": serializers.DateTimeField(help_text="When Visitdesk saw it happen"),
        "data": data(),
    }
    return type(name, (serializers.Serializer,), {**fields, "__doc__": f"The ``{event_type}`` webhook payload."})


#: The type of ``PolymorphicProxySerializer``'s ``serializers`` argument (a dict is invariant in its values).
_Payload = serializers.Serializer[Any] | type[serializers.Serializer[Any]]

PAYLOADS: dict[str, _Payload] = {
    EventType.VISIT_REQUESTED.value: _envelope("VisitRequestedEvent", "visit.requested", WebhookVisitDataSerializer),
    EventType.VISIT_CONFIRMED.value: _envelope("VisitConfirmedEvent", "visit.confirmed", WebhookVisitDataSerializer),
    EventType.VISIT_CANCELLED.value: _envelope("VisitCancelledEvent", "visit.cancelled", WebhookVisitDataSerializer),
    EventType.PROGRAMME_BOOKED.value: _envelope("ProgrammeBookedEvent", "programme.booked",
                                                WebhookProgrammeDataSerializer),
    EventType.PROGRAMME_CHANGED.value: _envelope("ProgrammeChangedEvent", "programme.changed",
                                                 WebhookProgrammeDataSerializer),
    EventType.MEETING_CREATED.value: _envelope("MeetingCreatedEvent", "meeting.created", WebhookMeetingDataSerializer),
    EventType.MEETING_CHANGED.value: _envelope("MeetingChangedEvent", "meeting.changed",
                                               WebhookMeetingChangedDataSerializer),
    EventType.MEETING_CANCELLED.value: _envelope("MeetingCancelledEvent", "meeting.cancelled",
                                                 WebhookMeetingDataSerializer),
    EventType.ANSWER_RECEIVED.value: _envelope("AnswerReceivedEvent", "answer.received", WebhookAnswerDataSerializer),
    TEST_EVENT: _envelope("WebhookTestEvent", TEST_EVENT, WebhookTestDataSerializer),
}
PAYLOAD = PolymorphicProxySerializer(component_name="WebhookPayload", serializers=PAYLOADS,
                                     resource_type_field_name="type")


# --- endpoints and deliveries ----------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    url = serializers.CharField(max_length=2000, help_text="A public http(s) address")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False,
                                        max_length=len(EventType.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "is_active", "failing_since", "disabled_at",
                  "disabled_reason", "previous_secret_until", "created_at", "updated_at"]
        read_only_fields = ["id", "failing_since", "disabled_at", "disabled_reason", "previous_secret_until",
                            "created_at", "updated_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown only now: verify signatures with it")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookEndpointSerializer.Meta.read_only_fields, "secret"]


class WebhookSecretSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    secret = serializers.CharField(read_only=True, help_text="The new secret, shown only now")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "secret", "previous_secret_until"]
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "status_code", "error", "duration_ms"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    webhook_id = serializers.CharField(source="event.webhook_id", read_only=True,
                                       help_text="The webhook-id header: the same on every attempt")
    event_type = serializers.CharField(source="event.type", read_only=True)
    payload = serializers.SerializerMethodField(help_text="The body as sent (and signed)")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "event_type", "state", "attempts", "due_at", "last_status_code", "last_error",
                  "delivered_at", "created_at", "payload", "attempt_log"]
        read_only_fields = fields

    @extend_schema_field(PAYLOAD)
    def get_payload(self, obj: WebhookDelivery) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(body_of(obj.event))
        return payload


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet[WebhookEndpoint],
):
    """Endpoints that receive signed events (Standard Webhooks); see docs/operations.md, "Webhooks"."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    permission_classes = [CoordinatorsOnly]
    filter_backends = []

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoints()

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action in ("create", "update", "partial_update", "test", "rotate_secret"):
            return [WebhookWriteThrottle()]
        return super().get_throttles()

    @extend_schema(responses={201: WebhookEndpointCreatedSerializer},
                   summary="Register an endpoint; the answer holds its signing secret, shown this once")
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = services.endpoint_create(url=values["url"], event_types=values["event_types"],
                                            description=values.get("description", ""), created_by=request.user)
        if values.get("is_active") is False:
            endpoint = services.endpoint_update(endpoint=endpoint, is_active=False)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=201)

    def perform_update(self, serializer: serializers.BaseSerializer[WebhookEndpoint]) -> None:
        values: dict[str, Any] = serializer.validated_data
        endpoint = serializer.instance
        assert endpoint is not None  # an update always has its instance
        serializer.instance = services.endpoint_update(
            endpoint=endpoint, url=values.get("url"), event_types=values.get("event_types"),
            description=values.get("description"), is_active=values.get("is_active"))

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.endpoint_delete(endpoint=instance)

    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)},
                   summary="The delivery log: each delivery's payload, state, status codes and attempts")
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        deliveries = selectors.deliveries_of(self.get_object())
        # DRF pages any queryset; the stubs tie paginate_queryset to the viewset's own model.
        page = self.paginate_queryset(deliveries)  # type: ignore[arg-type]
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer},
                   summary="Send a test event (webhook.test) to this endpoint, also when it is disabled")
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = services.endpoint_send_test(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(selectors.deliveries_of(delivery.endpoint).get(pk=delivery.pk)).data,
                        status=202)

    @extend_schema(request=None, responses={200: WebhookSecretSerializer},
                   summary="A new signing secret; the previous one keeps signing for 24 hours")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return Response(WebhookSecretSerializer(endpoint).data)
