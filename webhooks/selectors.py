"""Reads: endpoints and a delivery log, shaped for the admin and the API."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its event and its attempts (newest first)."""
    return (WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
            .prefetch_related(Prefetch("attempt_log", WebhookAttempt.objects.order_by("-attempted_at", "-id")))
            .order_by("-created_at", "-id"))
