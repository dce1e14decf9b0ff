"""Crashes and outages with the real worker, Redis and SMTP server: every reminder arrives, none is lost.

The duplicate window is measured, not hidden: a message the SMTP server accepted just before the
worker died, whose "sent" was never committed, is sent again after recovery. The slowed-down server
here (it answers DATA only after a delay, and keeps the message even if the client vanished
meanwhile) makes that window as wide as it can be; it is at most one message per killed process.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from directory.models import Person
from events.models import Meeting, Participation
from notifications.models import InviteState, Kind, OutboxMessage

from .conftest import enqueue_dispatch, enqueue_recover, needs_services, wait_for

pytestmark = [needs_services, pytest.mark.integration, pytest.mark.django_db(transaction=True)]
State = OutboxMessage.State


def due_reminders(n: int, tag: str) -> set[int]:
    """``n`` hosts, each in a meeting starting in 59 minutes: their one-hour reminder is due now.

    Built in bulk (10 000 service calls would dominate the test); they were told their invites
    already, so the only thing owed is the reminder. Returns the person ids.
    """
    now = timezone.now().replace(microsecond=0)
    people = Person.objects.bulk_create(
        [Person(name=f"Host {tag} {i}", email=f"host-{tag}-{i}@example.org") for i in range(n)]
    )
    start = now + timedelta(minutes=59)
    meetings = Meeting.objects.bulk_create(
        [Meeting(title=f"Meeting {tag} {i}", starts_at=start, ends_at=start + timedelta(minutes=30), location="Lab")
         for i in range(n)]
    )
    Participation.objects.bulk_create(
        [Participation(meeting=m, person=p, role="host", starts_at=m.starts_at, ends_at=m.ends_at, blocks_time=True)
         for m, p in zip(meetings, people, strict=True)]
    )
    InviteState.objects.bulk_create(
        [InviteState(person=p, meeting=m, uid=m.uid, sequence=m.sequence, method="REQUEST", role="host", told_at=now)
         for m, p in zip(meetings, people, strict=True)]
    )
    return {p.pk for p in people}


def reminder_recipients(sink) -> Counter:
    return Counter(r.rcpt_tos[0] for r in sink.snapshot() if r.key.startswith("reminder:"))


def states() -> Counter:
    return Counter(OutboxMessage.objects.filter(kind=Kind.REMINDER).values_list("state", flat=True))


def test_kill_9_mid_batch_then_restart_delivers_every_reminder_once_but_for_the_measured_window(
    smtp_server, make_worker, record_property
):
    due_reminders(100, "kill")
    expected = {f"host-kill-{i}@example.org" for i in range(100)}
    smtp_server.delay = 0.05
    worker = make_worker(concurrency=2)
    worker.start()
    enqueue_dispatch(2)  # two dispatchers at once, in two pool processes
    wait_for(lambda: sum(reminder_recipients(smtp_server).values()) >= 30, what="the batch to be half-way")
    worker.kill9()
    at_kill = states()
    record_property("states_at_kill", dict(at_kill))
    assert at_kill[State.SENDING] > 0, "the kill should land mid-batch"
    assert sum(reminder_recipients(smtp_server).values()) < 100

    time.sleep(1)
    worker.start()
    enqueue_recover(0)  # the sweeper; in production it waits STUCK_AFTER (> the task time limit)
    wait_for(lambda: states()[State.SENDING] == 0, what="stuck rows to be recovered")
    enqueue_dispatch(2)
    wait_for(lambda: set(reminder_recipients(smtp_server)) == expected and states()[State.SENT] == 100,
             timeout=120, what="every reminder")
    worker.stop()

    received = reminder_recipients(smtp_server)
    duplicates = sum(count - 1 for count in received.values())
    record_property("duplicates", duplicates)
    print(f"\nkill -9 mid-batch: states at kill {dict(at_kill)}, duplicates after recovery: {duplicates}")
    assert set(received) == expected
    assert duplicates <= 2, "at most the one in-flight message per killed process"
    assert states() == Counter({State.SENT: 100})


def test_two_worker_processes_dispatching_at_once_send_each_reminder_exactly_once(smtp_server, make_worker):
    due_reminders(200, "pair")
    expected = {f"host-pair-{i}@example.org" for i in range(200)}
    workers = [make_worker(concurrency=2), make_worker(concurrency=2)]
    for worker in workers:
        worker.start()
    enqueue_dispatch(4)
    wait_for(lambda: states()[State.SENT] == 200, timeout=120, what="every reminder")
    time.sleep(1)
    for worker in workers:
        worker.stop()
    received = reminder_recipients(smtp_server)
    assert set(received) == expected
    assert max(received.values()) == 1


def test_reminders_due_while_redis_restarts_are_all_delivered_after_it_returns(
    smtp_server, make_worker, private_redis, celery_queue
):
    worker = make_worker(redis_url=private_redis.url, concurrency=1)
    worker.start()
    due_reminders(20, "redis")
    expected = {f"host-redis-{i}@example.org" for i in range(20)}

    subprocess.run(["redis-cli", "-p", str(private_redis.port), "shutdown", "nosave"], check=False,
                   capture_output=True, timeout=10)
    wait_for(lambda: not private_redis.ping(), timeout=10, what="redis to stop")
    private_redis.proc.wait(10)
    time.sleep(2)  # the worker notices and keeps retrying; nothing is sent meanwhile
    assert reminder_recipients(smtp_server) == Counter()
    private_redis.start()

    # Beat's next tick: a plain client publishing by task name, like ``celery beat`` does.
    beat = Celery(broker=private_redis.url, set_as_current=False)  # never the app shared tasks use
    beat.conf.broker_connection_retry_on_startup = True

    def tick():
        beat.send_task("notifications.dispatch_due", queue=celery_queue)
        return True

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and set(reminder_recipients(smtp_server)) != expected:
        tick()
        time.sleep(3)
    assert worker.proc.poll() is None, "the worker survived the outage"
    worker.stop()
    received = reminder_recipients(smtp_server)
    assert set(received) == expected
    assert max(received.values()) == 1
    assert states() == Counter({State.SENT: 20})


#: As production runs the worker: docker-compose (only gossip off) and the Procfile (gossip and
#: mingle off); heartbeats and remote control stay on in both.
PRODUCTION_WORKER_FLAGS = {"compose": ("--without-gossip",), "procfile": ("--without-gossip", "--without-mingle")}


def _publish_dispatch(broker_url: str, queue: str) -> None:
    """What beat does every minute: publish the task by name, from a client of its own."""
    beat = Celery(broker=broker_url, set_as_current=False)  # never the app shared tasks use
    beat.conf.broker_connection_retry_on_startup = True
    try:
        beat.send_task("notifications.dispatch_due", queue=queue)
    finally:
        beat.close()


@pytest.mark.parametrize(("outages", "flags"), [((0.2, 1, 3), "procfile"), ((0.2, 30), "compose")],
                         ids=["restarts-procfile-worker", "30s-outage-compose-worker"])
def test_the_worker_survives_redis_going_away_mid_dispatch_and_delivers_everything(
    smtp_server, make_worker, private_redis, celery_queue, outages, flags
):
    """Redis goes away while the worker holds unacknowledged dispatch tasks (acks_late) — right after
    one arrived, and half-way through a batch — and comes back empty (no persistence, as after a
    crash). kombu then used to fail handing the messages back or acking them with
    ``AttributeError: 'NoneType' object has no attribute 'hostname'``, "Unrecoverable error", and the
    worker process exited. Now it stays up through every outage and, with beat's next ticks,
    delivers every reminder exactly once."""
    due_reminders(40, "midredis")
    expected = {f"host-midredis-{i}@example.org" for i in range(40)}
    smtp_server.delay = 0.05  # a batch takes ~2 s: time to pull Redis from under it
    worker = make_worker(redis_url=private_redis.url, concurrency=2, flags=PRODUCTION_WORKER_FLAGS[flags])
    worker.start()
    for round_, outage in enumerate(outages):
        _publish_dispatch(private_redis.url, celery_queue)
        time.sleep(0.1 if round_ % 2 == 0 else 0.7)  # just received / mid-batch
        subprocess.run(["redis-cli", "-p", str(private_redis.port), "shutdown", "nosave"], check=False,
                       capture_output=True, timeout=10)
        private_redis.proc.wait(10)
        time.sleep(outage)
        assert worker.proc.poll() is None, "the worker died while Redis was down:\n" + worker.log.read_text()[-3000:]
        private_redis.start()
        time.sleep(2)
        assert worker.proc.poll() is None, "the worker died when Redis came back:\n" + worker.log.read_text()[-3000:]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and set(reminder_recipients(smtp_server)) != expected:
        _publish_dispatch(private_redis.url, celery_queue)
        time.sleep(2)
    log = worker.log.read_text(errors="replace")
    assert worker.proc.poll() is None, "the worker died:\n" + log[-3000:]
    assert "Unrecoverable error" not in log, log[-3000:]
    received = reminder_recipients(smtp_server)
    assert set(received) == expected
    assert max(received.values()) == 1
    wait_for(lambda: states() == Counter({State.SENT: 40}), timeout=30, what="every row marked sent")
    worker.stop()
