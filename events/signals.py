"""Announcements that the schedule changed, sent after the transaction commits.

Higher apps listen and only queue work for the worker: ``notifications`` wakes its dispatcher,
``calendars`` renders the changed meetings' feed fragments. That work re-reads the truth from the
database, so a lost or duplicated signal only changes *when* mail goes out or a feed catches up,
never *what*.
"""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

#: kwargs: ``meeting_ids`` (list[int])
schedule_changed = Signal()


def announce_schedule_change(meeting_ids: Iterable[int]) -> None:
    ids = sorted(set(meeting_ids))
    # robust: the change is committed; a receiver that fails (e.g. Redis down) is logged and must
    # not turn the caller's success into an error (beat catches up with what a nudge would have done).
    transaction.on_commit(lambda: schedule_changed.send(sender="events", meeting_ids=ids), robust=True)
