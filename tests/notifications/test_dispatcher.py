"""Claiming, retries, failures and the sweeper; two dispatchers at once on PostgreSQL."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications import dispatch
from notifications.models import Kind, OutboxMessage
from notifications.transports import TransportError, classify_smtp_error
from tests.factories import PersonFactory

State = OutboxMessage.State


class RecordingTransport:
    def __init__(self, fail: TransportError | None = None):
        self.keys: list[str] = []
        self.fail = fail
        self.lock = threading.Lock()

    def send(self, message):
        if self.fail:
            raise self.fail
        with self.lock:
            self.keys.append(message.extra_headers["X-Visitdesk-Key"])

    def close(self):
        pass


def owed_acks(n: int) -> list[OutboxMessage]:
    """Rows that need no meeting: visit acknowledgements are simplest, but any kind works. Use reminders."""
    from events.services import ParticipantSpec, meeting_create

    now = timezone.now()
    created = []
    for i in range(n):
        person = PersonFactory()
        start = now + timedelta(days=3, hours=i)
        meeting = meeting_create(title=f"M{i}", starts_at=start, ends_at=start + timedelta(minutes=30),
                                 participants=[ParticipantSpec(person, "host")])
        created.append(OutboxMessage.objects.create(
            key=f"test:{i}", kind=Kind.REMINDER, person=person, meeting=meeting, offset_minutes=60, due_at=now,
        ))
    return created


@pytest.mark.django_db
def test_classify_smtp_errors():
    assert classify_smtp_error(smtplib.SMTPDataError(451, b"try later")).permanent is False
    assert classify_smtp_error(smtplib.SMTPDataError(554, b"rejected")).permanent is True
    refused = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"no such user")})
    assert classify_smtp_error(refused).permanent is True
    assert classify_smtp_error(smtplib.SMTPServerDisconnected("gone")).permanent is False
    assert classify_smtp_error(ConnectionRefusedError()).permanent is False


@pytest.mark.django_db
def test_a_temporary_error_retries_later_with_backoff_and_keeps_the_rest_of_the_batch():
    rows = owed_acks(3)
    stats = dispatch.dispatch_due(transport=RecordingTransport(TransportError("SMTP 451", permanent=False)),
                                  do_reconcile=False)
    assert stats["retry"] == 1
    first = OutboxMessage.objects.get(pk=rows[0].pk)
    assert first.state == State.PENDING and first.attempts == 1 and "451" in first.last_error
    assert first.due_at > timezone.now() + timedelta(seconds=20)
    for row in rows[1:]:  # released untouched
        row.refresh_from_db()
        assert row.state == State.PENDING and row.attempts == 0


@pytest.mark.django_db
def test_a_permanent_error_fails_visibly():
    (row,) = owed_acks(1)
    dispatch.dispatch_due(transport=RecordingTransport(TransportError("SMTP 550 no such user", permanent=True)),
                          do_reconcile=False)
    row.refresh_from_db()
    assert row.state == State.FAILED and "550" in row.last_error
    assert dispatch.retry_now(ids=[row.pk]) == 1
    row.refresh_from_db()
    assert row.state == State.PENDING and row.attempts == 0


@pytest.mark.django_db
def test_it_gives_up_after_max_attempts():
    (row,) = owed_acks(1)
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=dispatch.MAX_ATTEMPTS - 1)
    dispatch.dispatch_due(transport=RecordingTransport(TransportError("SMTP 421", permanent=False)), do_reconcile=False)
    row.refresh_from_db()
    assert row.state == State.FAILED and "gave up" in row.last_error


@pytest.mark.django_db
def test_the_sweeper_returns_rows_stuck_in_sending():
    rows = owed_acks(2)
    claimed = dispatch.claim(limit=2)
    assert {r.pk for r in claimed} == {r.pk for r in rows}
    assert dispatch.claim(limit=2) == []  # claimed rows are not claimed again
    assert dispatch.recover_stuck() == 0  # not old enough
    OutboxMessage.objects.update(claimed_at=timezone.now() - dispatch.STUCK_AFTER - timedelta(seconds=1))
    assert dispatch.recover_stuck() == 2
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.PENDING}
    transport = RecordingTransport()
    dispatch.dispatch_due(transport=transport, do_reconcile=False)
    assert sorted(transport.keys) == ["test:0", "test:1"]
    # The worker that claimed first comes back late: its outcome is not recorded over the new one.
    assert dispatch._finish(claimed[0], state=State.FAILED) is False


@pytest.mark.django_db
def test_a_message_that_cannot_be_built_fails_instead_of_blocking_the_queue():
    (row,) = owed_acks(1)
    OutboxMessage.objects.filter(pk=row.pk).update(kind=Kind.COORDINATOR_RSVP_DECLINED, payload={"decliner": 0})
    dispatch.dispatch_due(transport=RecordingTransport(), do_reconcile=False)
    row.refresh_from_db()
    assert row.state == State.FAILED and "could not build" in row.last_error


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_send_a_row_twice(on_postgres):
    rows = owed_acks(60)
    transports = [RecordingTransport(), RecordingTransport()]
    barrier = threading.Barrier(2)
    errors = []

    def run(transport):
        try:
            barrier.wait()
            dispatch.dispatch_due(transport=transport, batch_size=5, do_reconcile=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in transports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    sent = transports[0].keys + transports[1].keys
    assert sorted(sent) == sorted(r.key for r in rows)  # each exactly once
    assert len(set(sent)) == len(sent)
    assert OutboxMessage.objects.filter(state=State.SENT).count() == 60


@pytest.mark.django_db
def test_grouped_sent_marks_record_every_row_with_its_own_message_id():
    owed_acks(12)
    transport = RecordingTransport()
    stats = dispatch.dispatch_due(transport=transport, do_reconcile=False, mark_every=5)
    assert stats["sent"] == 12
    rows = OutboxMessage.objects.all()
    assert {r.state for r in rows} == {State.SENT}
    assert len({r.message_id for r in rows}) == 12 and all(r.message_id.startswith("<") for r in rows)


@pytest.mark.django_db
def test_a_spent_time_budget_asks_for_a_follow_up_run(_no_broker, monkeypatch):
    from notifications import tasks

    owed_acks(3)
    stats = dispatch.dispatch_due(transport=RecordingTransport(), do_reconcile=False, time_budget=0)
    assert stats["budget_spent"] == 1 and stats["sent"] == 0
    monkeypatch.setattr(dispatch, "dispatch_due", lambda: {"budget_spent": 1})
    tasks.dispatch_due.run()
    assert _no_broker == [1]
