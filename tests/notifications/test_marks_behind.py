"""Sent marks that commit while the next message travels, over a real SMTP session on PostgreSQL.

The dispatcher hands a reminder's "sent" mark to a thread of its own and goes on with the next
message; that message's final "." waits until the mark committed (``dispatch.MarksBehind``,
``transports.SMTPBackend``). These tests hold each mark until the server has seen the *next*
message's envelope — which only happens if the two really overlap — and check at every message
the server takes that every message before it is already ``sent`` in the database: never more
than one accepted message unknown to the database, the window of one-by-one marking.
"""

from __future__ import annotations

import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from notifications import dispatch
from notifications.models import OutboxMessage
from notifications.transports import MailTransport, SMTPBackend
from tests.notifications.test_dispatcher import owed_acks
from tests.support.net import free_port

State = OutboxMessage.State
pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    """Counts envelopes and messages; at each message taken, how many rows the database calls sent."""

    def __init__(self, sent_count):
        self.sent_count = sent_count
        self.envelopes = 0
        self.changed = threading.Condition()
        self.taken: list[int] = []  # rows already sent when message i was taken

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        with self.changed:
            self.envelopes += 1
            self.changed.notify_all()
        return "250 OK"

    def wait_for_envelopes(self, n: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.envelopes >= n, timeout=10)

    async def handle_DATA(self, server, session, envelope):
        self.taken.append(self.sent_count())
        return "250 OK"


@pytest.fixture
def smtp_server(on_postgres):
    import psycopg

    settings = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"],
        host=settings["HOST"], port=settings["PORT"] or 5432)
    db = psycopg.connect(conninfo, autocommit=True)

    def sent_count() -> int:
        return db.execute("SELECT count(*) FROM notifications_outboxmessage WHERE state = 'sent'").fetchone()[0]

    handler = Server(sent_count)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()
    db.close()


def _transport(port: int) -> MailTransport:
    return MailTransport(SMTPBackend(host="127.0.0.1", port=port, timeout=10))


def test_each_mark_commits_while_the_next_message_travels_and_before_it_is_handed_over(smtp_server, monkeypatch):
    server, port = smtp_server
    rows = owed_acks(6)
    overlapped: list[bool] = []
    record_sent = dispatch.record_sent

    def slow_mark(row, message_id, now=None):
        # Hold the n-th mark until the server saw envelope n + 1 (the last message has no next one).
        marked = len(overlapped) + 1
        if marked < len(rows):
            overlapped.append(server.wait_for_envelopes(marked + 1))
        return record_sent(row, message_id, now)

    monkeypatch.setattr(dispatch, "record_sent", slow_mark)
    stats = dispatch.dispatch_due(transport=_transport(port), do_reconcile=False)

    assert stats["sent"] == 6 and server.envelopes == 6
    assert overlapped == [True] * 5  # every next envelope went out while the previous mark waited
    assert server.taken == [0, 1, 2, 3, 4, 5]  # message i taken only once the i before it were marked
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.SENT}
    assert OutboxMessage.objects.filter(message_id="").count() == 0


def test_a_failed_mark_stops_the_batch_before_the_next_message_is_handed_over(smtp_server, monkeypatch):
    server, port = smtp_server
    owed_acks(4)
    record_sent = dispatch.record_sent
    calls = []

    def failing_second_mark(row, message_id, now=None):
        calls.append(row.pk)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return record_sent(row, message_id, now)

    monkeypatch.setattr(dispatch, "record_sent", failing_second_mark)
    with pytest.raises(dispatch.MarkFailed, match="the database went away"):
        dispatch.dispatch_due(transport=_transport(port), do_reconcile=False)

    # Messages 1 and 2 were taken; 3 travelled but its "." was never sent, so the server dropped it.
    assert len(server.taken) == 2 and server.envelopes == 3
    states = list(OutboxMessage.objects.order_by("due_at", "id").values_list("state", flat=True))
    # The unmarked message and the rest stay claimed for the sweeper (as after a crash): none is failed.
    assert states == [State.SENT, State.SENDING, State.SENDING, State.SENDING]


@pytest.mark.django_db
def test_inside_a_transaction_marks_are_made_in_line(on_postgres):
    # A test's (or a caller's) open transaction: another connection could not see the claim.
    assert connection.in_atomic_block and not dispatch.MarksBehind.usable()
