"""What is sent when: reconcile, claim due rows, send, record.

``dispatch_due`` is what the ``notifications.dispatch_due`` task runs, every minute from beat and
after every workflow change (an on-commit nudge). It is safe to run any number of times
concurrently:

- rows are *claimed* before sending: on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED`` (two
  dispatchers take disjoint rows without waiting on each other), everywhere with a conditional
  ``UPDATE … WHERE state='pending'`` and a per-batch claim token, so a row is claimed at most once;
- a row is marked sent right after the SMTP server accepted it (one UPDATE; an invite also records
  what was told, in the same transaction). The one unavoidable duplicate window is a crash between
  the server's "250 OK" and that commit (milliseconds): the row stays in ``sending``,
  ``recover_stuck`` returns it to pending and it goes out again. At most one message per killed
  worker process is affected; ``VISITDESK_OUTBOX_MARK_EVERY`` > 1 trades a window of that many
  reminders for fewer database round trips (see docs/performance.md).

Temporary failures (4xx, connection errors) go back to pending with exponential backoff; permanent
ones (5xx) and rows that exhausted their attempts become ``failed`` with the error, visible in the
admin, where a coordinator can retry them. Any other error while building or sending one message (a
display name Django cannot serialise, a template bug, a vanished object) fails *that row alone* with
the real error text; the rest of the batch is sent. A poison message must never stop everyone's mail.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from visits import booking

from . import compose
from .models import InviteState, Kind, OutboxMessage, ProgrammeState
from .reconcile import reconcile_changes
from .transports import MailTransport, TransportError

logger = logging.getLogger(__name__)
State = OutboxMessage.State

BATCH_SIZE = 50
MAX_ATTEMPTS = 8
#: Delay before attempt n+1 after a temporary failure of attempt n.
BACKOFF = [timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
           timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
#: A row in ``sending`` longer than this belongs to a dead worker (tasks are killed after 300 s).
STUCK_AFTER = timedelta(minutes=10)
#: Stop claiming new batches after this long, well inside the task's soft time limit.
TIME_BUDGET_SECONDS = 200


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts - 1, 0), len(BACKOFF) - 1)]


def claim_candidates(*, now: datetime, limit: int = BATCH_SIZE) -> Any:
    """The ids a claim takes: due pending rows in (due_at, id) order, read straight off the partial
    index ``outbox_pending_due_id_idx`` (no sort, however many rows share a due time)."""
    candidates = OutboxMessage.objects.filter(state=State.PENDING, due_at__lte=now).order_by("due_at", "id")
    if connection.vendor == "postgresql":
        candidates = candidates.select_for_update(skip_locked=True)
    return candidates.values_list("pk", flat=True)[:limit]


def claim(*, limit: int = BATCH_SIZE, now: datetime | None = None) -> list[OutboxMessage]:
    """Move up to ``limit`` due pending rows to ``sending`` for this caller only."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(claim_candidates(now=now, limit=limit))
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids, state=State.PENDING).update(
            state=State.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
    return list(
        OutboxMessage.objects.filter(claim_token=token, state=State.SENDING)
        .select_related("person")
        .order_by("due_at", "id")
    )


def _finish(row: OutboxMessage, **fields: Any) -> bool:
    """Record the outcome only if the row is still ours (not recovered and re-claimed meanwhile)."""
    fields.setdefault("updated_at", timezone.now())
    done = OutboxMessage.objects.filter(pk=row.pk, state=State.SENDING, claim_token=row.claim_token).update(**fields)
    if not done:
        logger.warning("outbox %s changed hands while being sent (recovered as stuck?)", row.pk)
    return bool(done)


def mark_sent(row: OutboxMessage, message_id: str, told: compose.Told | None = None,
              programme: compose.ProgrammeTold | None = None) -> None:
    """One UPDATE right after the server's 250 (a reminder); an invite also records what was ``told``,
    a programme mail the ``programme`` view it told."""
    now = timezone.now()
    if programme is not None:
        with transaction.atomic():
            if record_sent(row, message_id, now):
                record_programme_told(person_id=row.person_id, told=programme, now=now)
        return
    if told is None:
        record_sent(row, message_id)
        return
    with transaction.atomic():
        record_sent(row, message_id, now)
        method = InviteState.Method.CANCEL if row.kind == Kind.CANCEL else InviteState.Method.REQUEST
        meeting_id = cast(int, row.meeting_id)  # iMIP rows are about a meeting
        state = InviteState.objects.select_for_update().filter(person_id=row.person_id, meeting_id=meeting_id).first()
        if state is None:
            InviteState.objects.create(
                person_id=row.person_id, meeting_id=meeting_id, uid=told.uid,
                sequence=told.sequence, method=method, role=told.role, told_at=now,
            )
        else:
            state.uid, state.sequence, state.method = told.uid, told.sequence, method
            state.role = told.role or state.role
            state.revision += 1
            state.told_at = now
            state.save()
        if told.reset_partstat:
            # The update just sent asked again (PARTSTAT=NEEDS-ACTION): the old answer no longer
            # holds, so feeds and the API stop showing it; an answer given since it was built stays.
            booking.meeting_answer_reset(meeting_id=meeting_id, person_id=row.person_id, answered_before=told.built_at)


def record_sent(row: OutboxMessage, message_id: str, now: datetime | None = None) -> bool:
    """The one UPDATE that marks a row sent (if it is still ours)."""
    return _finish(row, state=State.SENT, sent_at=now or timezone.now(), message_id=message_id, last_error="")


def record_programme_told(*, person_id: int, told: compose.ProgrammeTold, now: datetime) -> None:
    """What the person now has of the programme; ``revision`` rises so a mail owed before is stale."""
    state = ProgrammeState.objects.select_for_update().filter(person_id=person_id, visit_id=told.visit_id).first()
    if state is None:
        ProgrammeState.objects.create(person_id=person_id, visit_id=told.visit_id, fingerprint=told.fingerprint,
                                      meetings=told.meetings, told_at=now)
        return
    state.fingerprint, state.meetings, state.told_at = told.fingerprint, told.meetings, now
    state.revision += 1
    state.save()


def mark_retry(row: OutboxMessage, error: str) -> None:
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, state=State.FAILED, last_error=f"gave up after {row.attempts} attempts: {error}"[:4000])
    else:
        _finish(row, state=State.PENDING, claim_token="", due_at=timezone.now() + backoff(row.attempts),
                last_error=error[:4000])


def release(rows: list[OutboxMessage]) -> None:
    """Hand claimed rows back untouched (the attempt did not happen)."""
    for row in rows:
        _finish(row, state=State.PENDING, claim_token="", attempts=F("attempts") - 1)


def _error_text(exc: BaseException) -> str:
    """What a coordinator reads in the outbox admin: the exception's type and its own words."""
    return f"{type(exc).__name__}: {exc}"


def send_one(row: OutboxMessage, transport: MailTransport, marks: SentMarks | None = None,
             rendered: compose.Rendered | None = None) -> str:
    """Build (unless ``rendered`` already is) and send one row; returns the outcome ("sent",
    "cancelled", "failed", "retry")."""
    try:
        if rendered is None:
            rendered = compose.build_message(row)
        mail = compose.to_email(row, rendered)
    except compose.Stale as exc:
        _finish(row, state=State.CANCELLED, last_error=f"not sent: {exc}")
        return "cancelled"
    except SoftTimeLimitExceeded:
        raise  # the task is being stopped; the row is recovered by the sweeper, not failed
    except Exception as exc:  # a rendering bug or a vanished object must not block the queue
        logger.exception("outbox %s could not be built", row.pk)
        _finish(row, state=State.FAILED, last_error=f"could not build the message: {_error_text(exc)}"[:4000])
        return "failed"
    message_id = make_msgid(domain=settings.SITE_DOMAIN)
    mail.extra_headers["Message-ID"] = message_id
    try:
        transport.send(mail)
    except TransportError as exc:
        if exc.permanent:
            _finish(row, state=State.FAILED, last_error=str(exc)[:4000])
            return "failed"
        mark_retry(row, str(exc))
        return "retry"
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        # Not the server's or the network's trouble but this message's (Django serialises headers
        # only while sending: a bad address raises ValueError here). Retrying cannot help, and
        # letting it escape would leave the whole batch in ``sending`` for the sweeper to re-claim
        # in the same order, again and again: this row fails, the others go out.
        logger.exception("outbox %s could not be sent", row.pk)
        transport.close()  # whatever state the session is in, the next message starts a fresh one
        _finish(row, state=State.FAILED, last_error=f"could not send the message: {_error_text(exc)}"[:4000])
        return "failed"
    if marks is not None and rendered.told is None and rendered.programme_told is None:
        marks.add(row, message_id)
    else:
        mark_sent(row, message_id, rendered.told, rendered.programme_told)
    return "sent"


class SentMarks:
    """Records "sent" for up to ``every`` messages in one UPDATE instead of one each.

    The trade: fewer database round trips per message, against a wider duplicate window (a worker
    killed before the flush resends up to ``every`` messages after recovery). Invites never wait
    here: their ``InviteState`` is written with the row, one by one.
    """

    def __init__(self, every: int):
        self.every = max(1, every)
        self.pending: list[tuple[OutboxMessage, str]] = []

    def add(self, row: OutboxMessage, message_id: str) -> None:
        self.pending.append((row, message_id))
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if len(self.pending) == 1:
            row, message_id = self.pending.pop()
            record_sent(row, message_id)
            return
        now = timezone.now()
        for token in {row.claim_token for row, _ in self.pending}:
            group = [(row, mid) for row, mid in self.pending if row.claim_token == token]
            OutboxMessage.objects.filter(
                pk__in=[row.pk for row, _ in group], state=State.SENDING, claim_token=token
            ).update(
                state=State.SENT, sent_at=now, last_error="", updated_at=now,
                message_id=Case(*[When(pk=row.pk, then=Value(mid)) for row, mid in group], default=Value("")),
            )
        self.pending.clear()


def dispatch_due(*, batch_size: int = BATCH_SIZE, time_budget: float = TIME_BUDGET_SECONDS,
                 transport: MailTransport | None = None, do_reconcile: bool = True,
                 mark_every: int | None = None) -> dict[str, int]:
    """Reconcile what changed since the last run (``reconcile_changes``: a full pass every few
    minutes), then send due rows batch by batch until none are due or the time budget is spent."""
    stats = {"sent": 0, "cancelled": 0, "failed": 0, "retry": 0}
    if do_reconcile:
        stats.update({f"owed_{k}": v for k, v in reconcile_changes().items()})
    deadline = time.monotonic() + time_budget
    own_transport = transport is None
    transport = transport or MailTransport()
    marks = SentMarks(getattr(settings, "VISITDESK_OUTBOX_MARK_EVERY", 1) if mark_every is None else mark_every)
    try:
        while True:
            if time.monotonic() >= deadline:
                stats["budget_spent"] = 1  # more may be due: the task asks for a follow-up run
                break
            rows = claim(limit=batch_size)
            if not rows:
                break
            compose.preload(rows)
            shared = compose.build_reminders(rows)  # once per (meeting, language), filled per person
            for index, row in enumerate(rows):
                outcome = send_one(row, transport, marks, shared.pop(row.pk, None))
                stats[outcome] += 1
                if outcome == "retry":
                    # The server or the network is in trouble: do not burn the rest of the batch.
                    marks.flush()
                    release(rows[index + 1 :])
                    return stats
            marks.flush()
    finally:
        marks.flush()
        if own_transport:
            transport.close()
    return stats


def recover_stuck(*, older_than: timedelta = STUCK_AFTER) -> int:
    """Rows left in ``sending`` by a dead worker go back to pending (or fail after too many attempts)."""
    now = timezone.now()
    stuck = OutboxMessage.objects.filter(state=State.SENDING, claimed_at__lte=now - older_than)
    failed = stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=State.FAILED, claim_token="", last_error="gave up: stuck in sending too often", updated_at=now
    )
    recovered = stuck.update(
        state=State.PENDING, claim_token="", last_error="recovered: its worker stopped while sending", updated_at=now
    )
    if recovered or failed:
        logger.warning("recovered %s outbox rows stuck in sending (%s failed)", recovered, failed)
    return recovered


def retry_now(*, ids: list[int]) -> int:
    """Admin action: failed or cancelled rows back to pending, due now."""
    return OutboxMessage.objects.filter(pk__in=ids, state__in=(State.FAILED, State.CANCELLED)).update(
        state=State.PENDING, due_at=timezone.now(), attempts=0, last_error="", claim_token="", updated_at=timezone.now()
    )
