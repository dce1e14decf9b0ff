"""Sent after commit when a visit changes status; notifications listens to send mails early."""

from django.db import transaction
from django.dispatch import Signal

#: kwargs: ``visit_id`` (int), ``event`` (str: requested, confirmed, declined, cancelled, completed, message)
visit_changed = Signal()


def announce_visit_change(visit_id: int, event: str) -> None:
    # robust: the change is committed; a failing receiver is logged, the caller still succeeds.
    transaction.on_commit(lambda: visit_changed.send(sender="visits", visit_id=visit_id, event=event), robust=True)
