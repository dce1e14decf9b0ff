"""What is owed to whom: compare the truth with what people were told, and add outbox rows.

The truth is the meetings, participations and visits; ``InviteState`` is what each person last
received about each meeting; ``OutboxMessage`` rows are the messages owed. Everything here is
idempotent and safe to run from several dispatchers at once: rows are created with
``ignore_conflicts`` on their unique key, and rows are only moved or cancelled while still pending
(a conditional UPDATE), so a row another dispatcher has claimed is never touched.

Rules (see docs in the module functions):
- invites: every participant of a scheduled meeting that is standalone or in a confirmed visit is
  owed METHOD:REQUEST at the meeting's current SEQUENCE; someone told REQUEST who is no longer such a
  participant (removed, meeting cancelled, visit cancelled) is owed METHOD:CANCEL. A new message
  waits ``VISITDESK_NOTIFY_SETTLE_SECONDS`` and is superseded by any later change, so several edits
  within that time produce one update.
- reminders: due = start − offset, computed on the wall clock of the meeting's time zone for whole
  days (a "1 day before" reminder keeps its local time across DST); rescheduling moves pending ones;
  a reminder whose moment had already passed when it became owed is never created.
- programme mails: each delegation member and the requester of a confirmed visit whose delegation
  hears by programme mail (``Visit.delegation_mail``) and whose programme was released (first booked
  or "Send programme") is owed one mail whenever their view of the programme differs from what
  ``ProgrammeState`` says they were told (``notifications.programme``); it waits the settle time and
  is superseded by any later change, so a burst of edits is one "programme updated" mail. They get
  no per-meeting invitation for that visit (``visits.selectors.programme_mail_q``).
- workflow mails: one per visit transition, to the requester and the coordinators.
- answer summaries: a coordinator hears of answers to invitations (accepted, declined, tentative,
  "propose new time", held for a check) in one mail per settle window, not one per answer
  (``notifications.answers``).
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.roles import coordinator_user_q, coordinator_users
from directory.models import Person
from directory.services import person_get_or_create
from events.models import Meeting, Participation
from visits.models import Delegation, ProgrammeSlot, Visit
from visits.selectors import VISIBLE_VISIT_STATES, meeting_visible_q, programme_mail_q

from . import answers, programme
from .models import (
    IMIP_KINDS,
    PROGRAMME_KINDS,
    InviteState,
    Kind,
    OutboxMessage,
    ProgrammeState,
    ReconcileDirty,
    ReconcileMark,
)

State = OutboxMessage.State

#: A reminder that became owed later than this after its moment is not sent (late booking).
LATE_TOLERANCE = timedelta(minutes=5)
#: Workflow mails are owed for transitions this recent (a fresh deployment does not mail old visits).
WORKFLOW_WINDOW = timedelta(hours=48)
CHUNK = 500
T = TypeVar("T")
#: A reminder's identity: (kind, person, meeting or visit, minutes before).
Slot = tuple[str, int, int | None, int]
#: Cancellation reasons the reconciler itself wrote; such a reminder comes back if it is owed again.
NOT_OWED = "no longer owed"
REVIVABLE = (NOT_OWED, "not sent:")

def settle_delay() -> timedelta:
    return timedelta(seconds=getattr(settings, "VISITDESK_NOTIFY_SETTLE_SECONDS", 60))


@dataclass
class Scope:
    """What an incremental pass looks at: the meetings and visits changed since the watermark.

    ``deferred`` collects those it had to leave for later (a message about them was in flight); the
    watermark then does not move past them."""

    meetings: set[int]
    visits: set[int]
    deferred_meetings: set[int] = field(default_factory=set)
    deferred_visits: set[int] = field(default_factory=set)


def reconcile(*, now: datetime | None = None, scope: Scope | None = None) -> dict[str, int]:
    """Everything owed (``scope`` None), or only what the meetings and visits in ``scope`` owe."""
    now = now or timezone.now()
    return {
        "imip": reconcile_invites(now=now, scope=scope),
        "programme": reconcile_programmes(now=now, scope=scope),
        "reminders": reconcile_reminders(now=now, scope=scope),
        "workflow": reconcile_workflow_mails(now=now, scope=scope),
        "answers": reconcile_answer_summaries(now=now),
    }


# --- incremental: only what changed since the last run ----------------------------------------

#: A full pass at least this often: the safety net for a change no watermark or signal reported.
FULL_EVERY = timedelta(minutes=10)
#: Changes stamped this long before the watermark are looked at again: a transaction stamps its
#: rows (``updated_at``) when it writes them and may commit a little later.
OVERLAP = timedelta(seconds=5)
#: More changed meetings or visits than this: one full pass costs less than the id lists.
FULL_ABOVE = 5000


def changed_since(since: datetime, *, now: datetime, dirty: list[tuple[int, int | None, int | None]]) -> Scope:
    """The meetings and visits whose owed messages may have changed since ``since``.

    Meetings: stamped by every change of their own, their participants, answers and agenda
    (``events.services`` touches ``updated_at``); told something (``InviteState``); with a participant
    whose preferences changed; announced (``dirty``). Visits: stamped, released, requested,
    confirmed or closed; a programme told; one of their meetings changed; a member, lead or
    requester changed; announced."""
    meetings = set(Meeting.objects.filter(updated_at__gt=since).values_list("pk", flat=True))
    meetings.update(InviteState.objects.filter(told_at__gt=since).values_list("meeting_id", flat=True))
    people = list(Person.objects.filter(updated_at__gt=since).values_list("pk", flat=True))
    if people:
        meetings.update(Participation.objects.filter(person_id__in=people, meeting__ends_at__gt=now)
                        .order_by().values_list("meeting_id", flat=True))
    meetings.update(m for _pk, m, _v in dirty if m)
    visits = set(Visit.objects.filter(
        Q(updated_at__gt=since) | Q(programme_sent_at__gt=since) | Q(requested_at__gt=since)
        | Q(confirmed_at__gt=since) | Q(closed_at__gt=since)
    ).values_list("pk", flat=True))
    visits.update(ProgrammeState.objects.filter(told_at__gt=since).values_list("visit_id", flat=True))
    if meetings and len(meetings) <= FULL_ABOVE:
        visits.update(ProgrammeSlot.objects.filter(meeting_id__in=meetings).values_list("visit_id", flat=True))
    if people:
        visits.update(Visit.objects.filter(
            Q(contact_id__in=people) | Q(delegation__members__in=people) | Q(delegation__lead_id__in=people)
        ).values_list("pk", flat=True))
    visits.update(v for _pk, _m, v in dirty if v)
    return Scope(meetings=meetings, visits=visits)


def _advance(*, changes_until: datetime | None, full_at: datetime | None) -> None:
    """Move the watermark forward (never back: another dispatcher may have moved it further)."""
    if changes_until is not None:
        ReconcileMark.objects.filter(pk=1, changes_until__lt=changes_until).update(changes_until=changes_until)
    if full_at is not None:
        ReconcileMark.objects.filter(pk=1, full_at__lt=full_at).update(full_at=full_at)


def reconcile_changes(*, now: datetime | None = None) -> dict[str, int]:
    """What the dispatcher runs: only the meetings and visits changed since the watermark, and a full
    pass when none was made for ``FULL_EVERY`` (or ever). The order is what makes it safe: read the
    watermark and the announced ids, do the work, then forget the announcements and move the
    watermark. A crash anywhere in between leaves both where they were, and the next run does the
    same work again (reconciling is idempotent)."""
    now = now or timezone.now()
    mark = ReconcileMark.objects.filter(pk=1).first()
    dirty = list(ReconcileDirty.objects.values_list("pk", "meeting_id", "visit_id")[: FULL_ABOVE * 2])
    scope = None
    if mark is not None and now - FULL_EVERY < mark.full_at <= now and mark.changes_until <= now:
        scope = changed_since(mark.changes_until - OVERLAP, now=now, dirty=dirty)
        if len(scope.meetings) > FULL_ABOVE or len(scope.visits) > FULL_ABOVE:
            scope = None
    if scope is not None and not scope.meetings and not scope.visits:
        # nothing changed: no work, but an answer summary's window closes by the clock (48 hours of answers)
        stats = {"imip": 0, "programme": 0, "reminders": 0, "workflow": 0,
                 "answers": reconcile_answer_summaries(now=now)}
    else:
        stats = reconcile(now=now, scope=scope)
    held = scope is not None and bool(scope.deferred_meetings or scope.deferred_visits)
    done = [pk for pk, m, v in dirty
            if scope is None or not (m in scope.deferred_meetings or v in scope.deferred_visits)]
    for chunk in _chunks(done):
        ReconcileDirty.objects.filter(pk__in=chunk).delete()
    if mark is None:
        ReconcileMark.objects.bulk_create([ReconcileMark(pk=1, changes_until=now, full_at=now)], ignore_conflicts=True)
    _advance(changes_until=None if held else now, full_at=now if scope is None else None)
    stats["full"] = int(scope is None)
    stats["changed_meetings"] = -1 if scope is None else len(scope.meetings)
    return stats


def mark_dirty(*, meeting_ids: Iterable[int] = (), visit_ids: Iterable[int] = ()) -> None:
    """Announce changed meetings or visits to the next incremental pass (after their commit)."""
    ReconcileDirty.objects.bulk_create(
        [ReconcileDirty(meeting_id=m) for m in set(meeting_ids)] + [ReconcileDirty(visit_id=v) for v in set(visit_ids)],
        batch_size=CHUNK,
    )


# --- helpers ---------------------------------------------------------------------------------


def _chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _create(rows: list[OutboxMessage]) -> int:
    if rows:
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CHUNK)
    return len(rows)


def _cancel_pending(ids: list[int], reason: str) -> int:
    done = 0
    for chunk in _chunks(ids):
        done += OutboxMessage.objects.filter(pk__in=chunk, state=State.PENDING).update(
            state=State.CANCELLED, last_error=reason, updated_at=timezone.now()
        )
    return done


def desired_participations(*, now: datetime) -> QuerySet[Participation]:
    # No ordering: Participation's default ordering joins people for nothing in these set queries.
    return Participation.objects.filter(meeting_visible_q("meeting__"), meeting__ends_at__gt=now).order_by()


def imip_key(*, person_id: int, meeting_id: int, method: str, sequence: int, revision: int) -> str:
    return f"imip:{person_id}:{meeting_id}:{method}:{sequence}:r{revision}"


# --- invites, updates, cancellations ---------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    key: str
    kind: str
    person_id: int
    meeting_id: int
    sequence: int
    role: str


def owed_invites(*, now: datetime, scope: Scope | None = None) -> list[Owed]:
    told = InviteState.objects.filter(person=OuterRef("person_id"), meeting=OuterRef("meeting_id"))
    # The delegation of a visit that hears by programme mail gets no REQUEST per meeting. Whether a
    # CANCEL is owed still asks the full set below: switching a visit to the programme mail never
    # cancels what members already have (the programme mail's .ics updates the same UIDs).
    desired = desired_participations(now=now)
    if scope is not None:
        desired = desired.filter(meeting_id__in=scope.meetings)
    requests = (
        desired
        .exclude(programme_mail_q())
        .annotate(
            told_seq=Subquery(told.values("sequence")[:1]),
            told_method=Subquery(told.values("method")[:1]),
            told_rev=Subquery(told.values("revision")[:1]),
        )
        .filter(
            Q(told_seq__isnull=True)
            | Q(told_method=InviteState.Method.CANCEL)
            | Q(told_seq__lt=F("meeting__sequence"))
        )
        .values_list("person_id", "meeting_id", "meeting__sequence", "told_method", "told_rev", "role")
    )
    owed = []
    for person_id, meeting_id, seq, told_method, told_rev, role in requests:
        kind = Kind.UPDATE if told_method == InviteState.Method.REQUEST else Kind.INVITE
        key = imip_key(person_id=person_id, meeting_id=meeting_id, method="REQUEST", sequence=seq, revision=told_rev or 0)
        owed.append(Owed(key, kind, person_id, meeting_id, seq, role))

    still_wanted = desired_participations(now=now).filter(person=OuterRef("person_id"), meeting=OuterRef("meeting_id"))
    told_requests = InviteState.objects.filter(method=InviteState.Method.REQUEST, meeting__ends_at__gt=now)
    if scope is not None:
        told_requests = told_requests.filter(meeting_id__in=scope.meetings)
    cancels = (
        told_requests
        .exclude(Exists(still_wanted))
        .values_list("person_id", "meeting_id", "meeting__sequence", "revision", "role")
    )
    for person_id, meeting_id, seq, rev, role in cancels:
        key = imip_key(person_id=person_id, meeting_id=meeting_id, method="CANCEL", sequence=seq, revision=rev)
        owed.append(Owed(key, Kind.CANCEL, person_id, meeting_id, seq, role))
    return owed


def reconcile_invites(*, now: datetime, scope: Scope | None = None) -> int:
    owed = owed_invites(now=now, scope=scope)
    keys = {o.key for o in owed}
    pending = OutboxMessage.objects.filter(state=State.PENDING, kind__in=IMIP_KINDS)
    if scope is not None:
        pending = pending.filter(meeting_id__in=scope.meetings)
    stale = [pk for pk, key in pending.values_list("pk", "key") if key not in keys]
    _cancel_pending(stale, "superseded by a later change")
    due = now + settle_delay()
    return _create(
        [
            OutboxMessage(
                key=o.key,
                kind=o.kind,
                person_id=o.person_id,
                meeting_id=o.meeting_id,
                sequence=o.sequence,
                due_at=due,
                payload={"role": o.role},
            )
            for o in owed
        ]
    )


# --- the delegation's programme mail ----------------------------------------------------------


@dataclass(frozen=True)
class OwedProgramme:
    key: str
    kind: str
    person_id: int
    visit_id: int
    fingerprint: str
    revision: int


def programme_meetings_of(visit_ids: list[int]) -> dict[int, list[programme.ProgrammeMeeting]]:
    """Every programme meeting of the visits (scheduled or not) with its participants, by visit."""
    participants: dict[int, set[int]] = defaultdict(set)
    for meeting_id, person_id in Participation.objects.filter(
        meeting__programme_slot__visit_id__in=visit_ids
    ).order_by().values_list("meeting_id", "person_id"):
        participants[meeting_id].add(person_id)
    out: dict[int, list[programme.ProgrammeMeeting]] = defaultdict(list)
    for visit_id, meeting_id, sequence, status in ProgrammeSlot.objects.filter(visit_id__in=visit_ids).order_by(
        "meeting_id"
    ).values_list("visit_id", "meeting_id", "meeting__sequence", "meeting__status"):
        out[visit_id].append(programme.ProgrammeMeeting(
            id=meeting_id, sequence=sequence, scheduled=status == Meeting.Status.SCHEDULED,
            participants=frozenset(participants[meeting_id])))
    return out


#: A visit cancelled after its programme went out still owes its delegation the update that takes the
#: meetings out of their calendars (an update only: nobody gets a first programme of a cancelled visit).
PROGRAMME_CLOSED_STATES = (Visit.Status.CANCELLED,)


def programme_mail_visits(*, now: datetime) -> QuerySet[Visit]:
    """Visits whose delegation may be owed programme mails: released, not over, and confirmed (or just
    completed) — or cancelled since."""
    return Visit.objects.filter(
        status__in=(*VISIBLE_VISIT_STATES, *PROGRAMME_CLOSED_STATES), delegation_mail=Visit.DelegationMail.PROGRAMME,
        programme_sent_at__isnull=False, ends_on__gte=(now - timedelta(days=1)).date(),
    ).select_related("delegation")


def programme_kind(state: ProgrammeState | None, visit: Visit) -> str:
    """The whole programme for someone never told or told before the coordinator sent it again; else an update."""
    if state is None or visit.programme_sent_at is None or state.told_at < visit.programme_sent_at:
        return Kind.PROGRAMME
    return Kind.PROGRAMME_UPDATE


def owed_programmes(*, now: datetime, scope: Scope | None = None) -> list[OwedProgramme]:
    candidates = programme_mail_visits(now=now)
    if scope is not None:
        candidates = candidates.filter(pk__in=scope.visits)
    visits = list(candidates)
    if not visits:
        return []
    meetings = programme_meetings_of([v.pk for v in visits])
    states = {(s.visit_id, s.person_id): s for s in ProgrammeState.objects.filter(visit__in=visits)}
    # ``programme_recipient_ids`` for every visit in one query: members, lead and requester.
    members: dict[int, set[int]] = defaultdict(set)
    for delegation_id, person_id in Delegation.members.through.objects.filter(
        delegation_id__in={v.delegation_id for v in visits}
    ).values_list("delegation_id", "person_id"):
        members[delegation_id].add(person_id)
    owed = []
    for visit in visits:
        recipients = members[visit.delegation_id] | {visit.contact_id}
        if visit.delegation.lead_id is not None:
            recipients.add(visit.delegation.lead_id)
        for person_id in sorted(recipients):
            state = states.get((visit.pk, person_id))
            if state is None and visit.status not in VISIBLE_VISIT_STATES:
                continue
            view = programme.person_view(person_id=person_id, meetings=meetings.get(visit.pk, []),
                                         told=state.meetings if state else None)
            if state is None and not programme.has_scheduled(view):
                continue  # nothing to send yet
            current = programme.fingerprint(view)
            kind = programme_kind(state, visit)
            if state is not None and (kind == Kind.PROGRAMME_UPDATE or visit.status not in VISIBLE_VISIT_STATES):
                if state.fingerprint == current:
                    continue  # they have exactly this
                kind = Kind.PROGRAMME_UPDATE
            revision = state.revision if state else 0
            key = programme.outbox_key(visit_id=visit.pk, person_id=person_id, kind=kind, fingerprint=current,
                                       revision=revision)
            owed.append(OwedProgramme(key, kind, person_id, visit.pk, current, revision))
    return owed


def reconcile_programmes(*, now: datetime, scope: Scope | None = None) -> int:
    """Create the programme mails owed; cancel pending ones a later change superseded. A person with a
    programme mail in flight (``sending``) gets nothing new until it ended: the next run compares
    with what that mail told them, so two workers never send the same change twice."""
    owed = owed_programmes(now=now, scope=scope)
    keys = {o.key for o in owed}
    pending = OutboxMessage.objects.filter(state__in=(State.PENDING, State.SENDING), kind__in=PROGRAMME_KINDS)
    if scope is not None:
        pending = pending.filter(visit_id__in=scope.visits)
    in_flight = set()
    stale = []
    for pk, key, state, visit_id, person_id in pending.values_list("pk", "key", "state", "visit_id", "person_id"):
        if state == State.SENDING:
            in_flight.add((visit_id, person_id))
        elif key not in keys:
            stale.append(pk)
    _cancel_pending(stale, "superseded by a later change")
    if scope is not None:
        scope.deferred_visits.update(o.visit_id for o in owed if (o.visit_id, o.person_id) in in_flight)
    due = now + settle_delay()
    return _create([
        OutboxMessage(key=o.key, kind=o.kind, person_id=o.person_id, visit_id=o.visit_id, due_at=due,
                      payload={"fingerprint": o.fingerprint, "revision": o.revision})
        for o in owed if (o.visit_id, o.person_id) not in in_flight
    ])


# --- reminders -------------------------------------------------------------------------------


def reminder_due(starts_at: datetime, tz: str, offset_minutes: int) -> datetime:
    """``starts_at`` minus the offset: whole days on the local wall clock, the rest in real minutes.

    "1 day before" a 10:00 meeting is 10:00 the day before even when a DST switch lies between them.
    """
    zone = zoneinfo.ZoneInfo(tz)
    days, minutes = divmod(offset_minutes, 24 * 60)
    local = starts_at.astimezone(zone)
    wall = datetime.combine(local.date() - timedelta(days=days), local.time(), tzinfo=zone)
    return (wall - timedelta(minutes=minutes)).astimezone(zoneinfo.ZoneInfo("UTC"))


@dataclass(frozen=True)
class WantedReminder:
    kind: str
    person_id: int
    meeting_id: int | None
    visit_id: int | None
    offset: int
    due_at: datetime

    @property
    def slot(self) -> Slot:
        return (self.kind, self.person_id, self.meeting_id if self.kind == Kind.REMINDER else self.visit_id, self.offset)

    @property
    def key(self) -> str:
        subject = f"m{self.meeting_id}" if self.kind == Kind.REMINDER else f"v{self.visit_id}"
        return f"reminder:{self.person_id}:{subject}:{self.offset}:{self.due_at:%Y%m%dT%H%MZ}"


def _slot_of(row: dict[str, Any]) -> Slot:
    subject = row["meeting_id"] if row["kind"] == Kind.REMINDER else row["visit_id"]
    return (row["kind"], row["person_id"], subject, row["offset_minutes"])


def wanted_reminders(*, now: datetime, scope: Scope | None = None) -> list[WantedReminder]:
    wanted: list[WantedReminder] = []
    host_offsets = list(settings.VISITDESK_REMINDERS_HOST)
    desired = desired_participations(now=now)
    if scope is not None:
        desired = desired.filter(meeting_id__in=scope.meetings)
    hosts = (
        desired
        .filter(role__in=Participation.BLOCKING_ROLES, meeting__starts_at__gt=now, person__reminders_opt_out=False)
        .values_list("person_id", "meeting_id", "meeting__starts_at", "meeting__timezone")
    )
    meeting_id: int | None  # a visit reminder (below) names its first meeting if it has one
    for person_id, meeting_id, starts_at, tz in hosts:
        for offset in host_offsets:
            wanted.append(WantedReminder(Kind.REMINDER, person_id, meeting_id, None, offset, reminder_due(starts_at, tz, offset)))

    delegation_offsets = list(settings.VISITDESK_REMINDERS_DELEGATION)
    if delegation_offsets:
        first_meeting: dict[int, tuple[int, datetime, str]] = {}
        slots = ProgrammeSlot.objects.filter(visit__status=Visit.Status.CONFIRMED, meeting__status=Meeting.Status.SCHEDULED)
        visits = Visit.objects.filter(status=Visit.Status.CONFIRMED, ends_on__gte=(now - timedelta(days=1)).date())
        if scope is not None:
            slots = slots.filter(visit_id__in=scope.visits)
            visits = visits.filter(pk__in=scope.visits)
        for visit_id, meeting_id, starts_at, tz in (
            slots.order_by("meeting__starts_at")
            .values_list("visit_id", "meeting_id", "meeting__starts_at", "meeting__timezone")
        ):
            first_meeting.setdefault(visit_id, (meeting_id, starts_at, tz))
        opted_out = set(Person.objects.filter(reminders_opt_out=True).values_list("pk", flat=True))
        members = defaultdict(set)
        for visit_id, person_id in visits.values_list("pk", "delegation__members"):
            if person_id and person_id not in opted_out:
                members[visit_id].add(person_id)
        for visit in visits.only("pk", "starts_on", "timezone"):
            if visit.pk in first_meeting:
                meeting_id, starts_at, tz = first_meeting[visit.pk]
            else:  # no programme yet: the first day's morning in the visit's zone
                meeting_id, tz = None, visit.timezone
                starts_at = datetime.combine(cast(date, visit.starts_on), time(9, 0), tzinfo=zoneinfo.ZoneInfo(tz))
            if starts_at <= now:
                continue
            for person_id in members.get(visit.pk, ()):
                for offset in delegation_offsets:
                    due = reminder_due(starts_at, tz, offset)
                    wanted.append(WantedReminder(Kind.VISIT_REMINDER, person_id, meeting_id, visit.pk, offset, due))
    return wanted


def reconcile_reminders(*, now: datetime, scope: Scope | None = None) -> int:
    """Create, move, revive or cancel reminder rows so they match what is wanted now."""
    wanted = wanted_reminders(now=now, scope=scope)
    existing = defaultdict(list)
    fields = ("pk", "key", "kind", "person_id", "meeting_id", "visit_id", "offset_minutes", "state", "due_at", "last_error")
    rows = OutboxMessage.objects.filter(kind__in=(Kind.REMINDER, Kind.VISIT_REMINDER)).filter(
        Q(state__in=(State.PENDING, State.SENDING)) | Q(due_at__gt=now - timedelta(days=40))
    )
    if scope is not None:
        rows = rows.filter(Q(kind=Kind.REMINDER, meeting_id__in=scope.meetings)
                           | Q(kind=Kind.VISIT_REMINDER, visit_id__in=scope.visits))
    for row in rows.values(*fields):
        existing[_slot_of(row)].append(row)

    too_late = now - LATE_TOLERANCE
    create: list[OutboxMessage] = []
    wanted_slots = set()
    for w in wanted:
        wanted_slots.add(w.slot)
        rows_in_slot = existing.get(w.slot, [])
        same = next((r for r in rows_in_slot if r["key"] == w.key), None)
        if same is not None:
            revivable = same["state"] == State.CANCELLED and same["last_error"].startswith(REVIVABLE)
            if revivable and w.due_at > too_late:  # e.g. opted in again; never undoes a coordinator's cancel
                OutboxMessage.objects.filter(pk=same["pk"], state=State.CANCELLED).update(
                    state=State.PENDING, last_error="", due_at=w.due_at, updated_at=now
                )
            continue
        if any(r["state"] == State.SENDING for r in rows_in_slot):
            if scope is not None:  # the watermark waits for it
                if w.kind == Kind.REMINDER:
                    scope.deferred_meetings.add(cast(int, w.meeting_id))
                else:
                    scope.deferred_visits.add(cast(int, w.visit_id))
            continue  # in flight; the next run sees how it ended
        pending = [r for r in rows_in_slot if r["state"] == State.PENDING]
        if pending:
            row = pending[0]
            if w.due_at <= too_late:
                _cancel_pending([row["pk"]], "its moment had passed when the meeting was moved")
            else:
                OutboxMessage.objects.filter(pk=row["pk"], state=State.PENDING).update(
                    key=w.key, due_at=w.due_at, meeting_id=w.meeting_id, updated_at=now
                )
            _cancel_pending([r["pk"] for r in pending[1:]], "duplicate slot")
            continue
        if w.due_at <= too_late:
            continue  # booked (or moved) after the reminder's moment: never sent late
        create.append(
            OutboxMessage(
                key=w.key,
                kind=w.kind,
                person_id=w.person_id,
                meeting_id=w.meeting_id,
                visit_id=w.visit_id,
                offset_minutes=w.offset,
                due_at=w.due_at,
            )
        )
    orphans = [
        r["pk"]
        for slot, rows_in_slot in existing.items()
        if slot not in wanted_slots
        for r in rows_in_slot
        if r["state"] == State.PENDING
    ]
    _cancel_pending(orphans, f"{NOT_OWED} (cancelled, removed or opted out)")
    return _create(create)


# --- workflow mails --------------------------------------------------------------------------


def coordinators_for(visit: Visit | None) -> list[Person]:
    """The visit's coordinator, or else every coordinator account (``core.roles``) with an e-mail address."""
    if visit is not None and visit.coordinator is not None:
        return [visit.coordinator]
    people = list(Person.objects.filter(coordinator_user_q("user__")).exclude(email="").distinct())
    have = {p.user_id for p in people}
    for user in coordinator_users().exclude(email="").exclude(pk__in=have):
        person, _ = person_get_or_create(
            email=user.email, defaults={"name": user.get_full_name() or user.get_username()}
        )
        people.append(person)
    return people


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def ack_limit() -> tuple[int, timedelta]:
    """Acknowledgements per recipient address and period (``VISITDESK_THROTTLE_ACK_ADDRESS``, "3/day")."""
    count, period = getattr(settings, "VISITDESK_THROTTLE_ACK_ADDRESS", "3/day").split("/")
    return int(count), timedelta(seconds=_PERIODS[period.strip()[0]])


def reconcile_workflow_mails(*, now: datetime, scope: Scope | None = None) -> int:
    since = now - WORKFLOW_WINDOW
    rows: list[OutboxMessage] = []
    # The public form lets anyone type any address: beyond a few acknowledgements per address and
    # day the request is still stored and coordinators are still told, but that inbox hears no more.
    limit, period = ack_limit()
    acks_per_address: dict[str, int] = defaultdict(int)
    for address in OutboxMessage.objects.filter(kind=Kind.VISIT_ACK, created_at__gte=now - period).values_list(
        "person__email", flat=True
    ):
        acks_per_address[address.strip().lower()] += 1

    def owe(key: str, kind: str, person_id: int, visit: Visit | None = None, meeting_id: int | None = None,
            **payload: Any) -> None:
        rows.append(
            OutboxMessage(
                key=key,
                kind=kind,
                person_id=person_id,
                visit=visit,
                meeting_id=meeting_id,
                due_at=now,
                payload=payload,
            )
        )

    recent = Visit.objects.filter(Q(requested_at__gte=since) | Q(confirmed_at__gte=since) | Q(closed_at__gte=since))
    if scope is not None:
        recent = recent.filter(pk__in=scope.visits)
    acknowledged = set(
        OutboxMessage.objects.filter(kind=Kind.VISIT_ACK, visit__requested_at__gte=since).values_list("visit_id", flat=True)
    )
    closed_ids = []
    for visit in recent.select_related("coordinator", "contact").order_by("requested_at", "pk"):
        if visit.requested_at >= since:
            address = visit.contact.email.strip().lower()
            if visit.pk not in acknowledged and acks_per_address[address] < limit:
                acks_per_address[address] += 1
                owe(f"visit:{visit.pk}:ack", Kind.VISIT_ACK, visit.contact_id, visit)
            for coordinator in coordinators_for(None):
                owe(f"visit:{visit.pk}:new-request:{coordinator.pk}", Kind.COORDINATOR_NEW_REQUEST, coordinator.pk, visit)
        if visit.status in VISIBLE_VISIT_STATES and visit.confirmed_at and visit.confirmed_at >= since:
            owe(f"visit:{visit.pk}:confirmed", Kind.VISIT_CONFIRMED, visit.contact_id, visit)
        if visit.closed_at and visit.closed_at >= since:
            if visit.status == Visit.Status.DECLINED:
                owe(f"visit:{visit.pk}:declined", Kind.VISIT_DECLINED, visit.contact_id, visit)
                closed_ids.append(visit.pk)
            elif visit.status == Visit.Status.CANCELLED:
                owe(f"visit:{visit.pk}:cancelled", Kind.VISIT_CANCELLED, visit.contact_id, visit)
                closed_ids.append(visit.pk)
    if closed_ids:
        # A confirmation still waiting when the visit was cancelled would contradict the cancellation.
        stale = OutboxMessage.objects.filter(
            visit_id__in=closed_ids, state=State.PENDING, kind__in=(Kind.VISIT_CONFIRMED, Kind.VISIT_ACK)
        ).values_list("pk", flat=True)
        _cancel_pending(list(stale), "the visit was closed before this was sent")

    return _create(rows)


# --- the coordinator's answer summary ---------------------------------------------------------


def reconcile_answer_summaries(*, now: datetime) -> int:
    """Owe each coordinator one summary per window of answers (``notifications.answers``): the first
    answer after their last summary opens a window of ``VISITDESK_ANSWER_DIGEST_SECONDS``; the mail is
    due when it closes, whatever came in meanwhile."""
    since = now - WORKFLOW_WINDOW
    rows = answers.answers_between(since=since)
    if not rows:
        return 0
    every = [p.pk for p in coordinators_for(None)] if any(r.coordinator_id is None for r in rows) else []
    owed = answers.owed_summaries(rows=rows, every_coordinator=every, first_since=since)
    return _create([
        OutboxMessage(key=o.key, kind=Kind.ANSWER_SUMMARY, person_id=o.person_id, due_at=o.due_at,
                      payload={"since": o.since.isoformat(), "until": o.until.isoformat()})
        for o in owed
    ])
