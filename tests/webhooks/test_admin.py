"""The admin: registering an endpoint shows its secret once, the address check applies, "send test
event" and "rotate" work, and the delivery log shows status codes and the payload as signed."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from webhooks import delivery, services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_adding_an_endpoint_shows_the_secret_once(admin_client, receiver):
    answer = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"), {
        "url": receiver.url, "description": "CRM", "event_types": ["visit.confirmed", "meeting.created"],
        "is_active": "on"})
    assert answer.status_code == 302, answer.content[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["visit.confirmed", "meeting.created"]
    shown = [str(m) for m in get_messages(answer.wsgi_request)]
    assert any(endpoint.secret in m for m in shown)
    change = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    assert endpoint.secret.encode() in admin_client.get(change).content  # the message, on the next page
    page = admin_client.get(change)
    assert page.status_code == 200 and endpoint.secret.encode() not in page.content  # and never again


def test_the_admin_refuses_a_private_address_and_an_empty_choice(admin_client, settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False
    answer = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"), {
        "url": "http://127.0.0.1/hooks", "event_types": [], "is_active": "on"})
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "private or local address" in errors["url"][0] and "event_types" in errors
    assert not WebhookEndpoint.objects.exists()


def test_send_test_event_and_the_delivery_log(admin_client, receiver):
    endpoint = services.endpoint_create(url=receiver.url, event_types=["meeting.created"])
    receiver.statuses = [503]
    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    answer = admin_client.post(changelist, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    assert answer.status_code == 302
    delivery.dispatch_due()
    row = WebhookDelivery.objects.get()
    assert (row.event.type, row.last_status_code, row.state) == ("webhook.test", 503, "pending")

    log = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    assert log.status_code == 200 and b"503" in log.content and row.event.webhook_id.encode() in log.content
    detail = admin_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[row.pk]))
    assert detail.status_code == 200
    assert b"webhook.test" in detail.content and b"HTTP 503" in detail.content

    old = endpoint.secret
    answer = admin_client.post(changelist, {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert any(endpoint.secret in str(m) for m in get_messages(answer.wsgi_request))
