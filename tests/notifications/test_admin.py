"""Coordinators see the outbox in the admin and can retry failed messages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.models import Kind, OutboxMessage
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-not-used-0815")
    client.force_login(user)
    return client


def test_the_outbox_list_filters_searches_and_retries(admin_client):
    person = PersonFactory(email="failing@example.org")
    row = OutboxMessage.objects.create(
        key="visit:1:ack", kind=Kind.VISIT_ACK, person=person, due_at=timezone.now(),
        state=OutboxMessage.State.FAILED, attempts=3, last_error="SMTP 550 no such user",
    )
    page = admin_client.get("/admin/notifications/outboxmessage/?state__exact=failed&q=failing")
    assert page.status_code == 200
    assert b"SMTP 550 no such user" in page.content
    assert admin_client.get(f"/admin/notifications/outboxmessage/{row.pk}/change/").status_code == 200
    assert admin_client.get("/admin/notifications/invitestate/").status_code == 200
    answer = admin_client.post("/admin/notifications/outboxmessage/",
                               {"action": "retry", "_selected_action": [row.pk]}, follow=True)
    assert answer.status_code == 200
    row.refresh_from_db()
    assert row.state == OutboxMessage.State.PENDING and row.attempts == 0 and row.last_error == ""
