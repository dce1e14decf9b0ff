"""The claim reads due rows off the partial index in its own (due_at, id) order: no sort of the rows
that share a due time, however many there are (PostgreSQL's plan; SQLite has no SKIP LOCKED claim)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notifications import dispatch
from notifications.models import Kind, OutboxMessage
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL")
def test_the_claim_of_a_same_time_group_uses_the_index_without_a_sort():
    person = PersonFactory()
    now = timezone.now()
    due = now - timedelta(minutes=1)
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(key=f"r:{i}", kind=Kind.REMINDER, person=person, due_at=due) for i in range(3000)]
        + [OutboxMessage(key=f"s:{i}", kind=Kind.REMINDER, person=person, due_at=due, state="sent") for i in range(3000)],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_outboxmessage")
    with transaction.atomic():
        plan = dispatch.claim_candidates(now=now).explain()
    assert "outbox_pending_due_id_idx" in plan
    assert "Sort" not in plan  # neither Sort nor Incremental Sort over the 3,000 rows due at once
    claimed = dispatch.claim(now=now)
    assert [row.key for row in claimed] == [f"r:{i}" for i in range(dispatch.BATCH_SIZE)]
