"""What a delegation member's programme mail holds, and how it differs from what they were told.

A member's *view* of a visit's programme maps each meeting id to ``[SEQUENCE, "scheduled" |
"cancelled"]``: the scheduled programme meetings they take part in (the whole programme for someone
on none of the programme's meetings, e.g. a requester who does not travel), plus every meeting they were told about
before that is gone for them now — cancelled, or they were taken off it — as "cancelled", so the
next .ics removes it from their calendar (``STATUS:CANCELLED`` with the meeting's UID). The view's
hash is its *fingerprint*: the reconciler owes a mail exactly when the fingerprint differs from the
one in ``ProgrammeState`` (or the coordinator pressed "Send programme" since), and the dispatcher
records the fingerprint of what it sent, in the transaction that marks the mail sent.

Plain functions over plain data, shared by ``reconcile`` (all visits at once) and ``compose`` (one
mail), so both compute the same view from the same rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCHEDULED = "scheduled"
CANCELLED = "cancelled"
#: meeting id (as a JSON key: str) → [SEQUENCE, SCHEDULED | CANCELLED]
View = dict[str, list[int | str]]


@dataclass(frozen=True)
class ProgrammeMeeting:
    id: int
    sequence: int
    scheduled: bool
    participants: frozenset[int]


def person_view(*, person_id: int, meetings: Iterable[ProgrammeMeeting], told: Mapping[str, list[int | str]] | None) -> View:
    """``person_id``'s view of the programme ``meetings`` (every meeting of the visit, scheduled or
    not), given what they were ``told`` (``ProgrammeState.meetings``, or None)."""
    meetings = list(meetings)
    scheduled = [m for m in meetings if m.scheduled]
    # Someone on none of the programme's meetings (cancelled ones included: a member whose only
    # meeting was cancelled still has just that one) follows the whole programme.
    takes_part = any(person_id in m.participants for m in meetings)
    theirs = [m for m in scheduled if person_id in m.participants] if takes_part else scheduled
    view: View = {str(m.id): [m.sequence, SCHEDULED] for m in theirs}
    sequences = {str(m.id): m.sequence for m in meetings}
    for key, (sequence, _status) in (told or {}).items():
        if key in view or key not in sequences:  # a deleted meeting cannot be written any more
            continue
        view[key] = [sequences.get(key, int(sequence)), CANCELLED]
    return dict(sorted(view.items(), key=lambda kv: int(kv[0])))


def fingerprint(view: Mapping[str, list[int | str]]) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:32]


def has_scheduled(view: Mapping[str, list[int | str]]) -> bool:
    return any(status == SCHEDULED for _sequence, status in view.values())


@dataclass(frozen=True)
class Difference:
    """Meeting ids by what happened since the person was told (``told`` None: nothing told yet)."""

    added: tuple[int, ...]
    changed: tuple[tuple[int, int], ...]  # (meeting id, the SEQUENCE they were told)
    cancelled: tuple[int, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.cancelled)


def difference(view: Mapping[str, list[int | str]], told: Mapping[str, list[int | str]] | None) -> Difference:
    told = told or {}
    added, changed, cancelled = [], [], []
    for key, (sequence, status) in view.items():
        before = told.get(key)
        if status == CANCELLED:
            if before is not None and before[1] == SCHEDULED:
                cancelled.append(int(key))
        elif before is None or before[1] == CANCELLED:
            added.append(int(key))
        elif int(sequence) > int(before[0]):
            changed.append((int(key), int(before[0])))
    return Difference(tuple(added), tuple(changed), tuple(cancelled))


def outbox_key(*, visit_id: int, person_id: int, kind: str, fingerprint: str, revision: int) -> str:
    """The programme mail owed for this view. ``revision`` (how many were sent so far) makes the next one
    a new message even for the same view (the coordinator sent the programme again); ``kind`` keeps a
    whole programme owed from being mistaken for an update owed a moment before."""
    return f"programme:{visit_id}:{person_id}:{kind}:{fingerprint[:16]}:r{revision}"
