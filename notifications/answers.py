"""The coordinator's answer summary: one mail per settle window with the answers that came in.

People answer invitations through the signed links in their mail, the staff page or their calendar
client's buttons (``notifications.replies``). A coordinator wants to know — a host who declines leaves
a hole in a programme — but not one mail per click: a programme mail to twenty people can bring twenty
answers within minutes. So answers are *collected*: the first new answer for a coordinator opens a
window of ``VISITDESK_ANSWER_DIGEST_SECONDS``; when it closes, one mail lists every answer given inside
it (accepted, declined, tentative, "propose new time", answers held for a check), per meeting, with
links to the visit page and, where a required person declined, to the repair. Answers after the window
closed open the next one. Later answers never push the mail back (a debounce that would starve while
people keep answering): the window's end is fixed by its first answer.

There is no log of answers: a participation's ``responded_at`` (set whenever its answer changes, by
``visits.booking.meeting_answer``, whatever the channel), a counter-proposal's and a held answer's
``created_at`` are the moments. A mail shows each answer as it stands when the mail is written: someone
who accepted and then declined inside one window is listed once, as declined.

Exactly once, like every mail: the reconciler owes an ``OutboxMessage`` keyed by the coordinator and the
end of the previous window (``answers:<person>:<previous until>``), so however often it runs, the same
window is owed once; a window's row, in any state, is where the next one starts, and no next row is made
while one is pending or being sent. The dispatcher claims, sends and marks it like any other row (a
worker killed while sending leaves it in ``sending``; ``recover_stuck`` sends it again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Q

from events.models import Participation
from scheduling.models import Proposal, ProposalItem
from visits.selectors import meeting_visible_q

from .models import CounterProposal, HeldAnswer, Kind, OutboxMessage

State = OutboxMessage.State

#: A window's mail waits this much longer than the window, so an answer stamped just before the window
#: closed whose transaction commits a moment later is still read by the mail (answers commit in ms).
GRACE = timedelta(seconds=5)


class Answer:
    """What a summary lists (values of ``AnswerRow.answer``)."""

    ACCEPTED = Participation.Rsvp.ACCEPTED.value
    DECLINED = Participation.Rsvp.DECLINED.value
    TENTATIVE = Participation.Rsvp.TENTATIVE.value
    COUNTER = "counter"
    HELD = "held"


@dataclass(frozen=True)
class AnswerRow:
    """One answer to one meeting: who, what, when, and whose it is to read (the visit's coordinator,
    or ``None``: every coordinator — a standalone meeting or a visit without one)."""

    meeting_id: int
    person_id: int
    answer: str
    at: datetime
    coordinator_id: int | None
    #: The person's time is required by the meeting (host, chair, presenter, or the visiting delegation:
    #: ``Participation.blocks_time``, as booking stored it). A required decline asks for a repair.
    required: bool
    #: For a counter-proposal: its id (the mail names the proposed time).
    counter_id: int | None = None

    def owners(self, every_coordinator: Iterable[int]) -> set[int]:
        owners = {self.coordinator_id} if self.coordinator_id is not None else set(every_coordinator)
        owners.discard(self.person_id)  # a coordinator's own answer is no news to them
        return owners


def window() -> timedelta:
    return timedelta(seconds=max(0, int(getattr(settings, "VISITDESK_ANSWER_DIGEST_SECONDS", 600))))


def answers_between(*, since: datetime, until: datetime | None = None) -> list[AnswerRow]:
    """Answers given after ``since`` (and up to ``until``) to meetings participants may hear about."""
    coordinator = "meeting__programme_slot__visit__coordinator_id"
    period = Q(responded_at__gt=since) if until is None else Q(responded_at__gt=since, responded_at__lte=until)
    rows = [
        AnswerRow(meeting_id=m, person_id=p, answer=rsvp, at=at, coordinator_id=c, required=required)
        for m, p, rsvp, at, c, required in Participation.objects.filter(period, meeting_visible_q("meeting__"))
        .exclude(rsvp=Participation.Rsvp.NEEDS_ACTION).order_by()
        .values_list("meeting_id", "person_id", "rsvp", "responded_at", coordinator, "blocks_time")
    ]
    created = Q(created_at__gt=since) if until is None else Q(created_at__gt=since, created_at__lte=until)
    counters = list(CounterProposal.objects.filter(created, meeting_visible_q("meeting__")).order_by(
    ).values_list("pk", "meeting_id", "person_id", "created_at", coordinator))
    required_of = {(m, p): b for m, p, b in Participation.objects.filter(
        meeting_id__in={c[1] for c in counters}).order_by().values_list("meeting_id", "person_id", "blocks_time")
    } if counters else {}
    for pk, m, p, at, c in counters:
        rows.append(AnswerRow(meeting_id=m, person_id=p, answer=Answer.COUNTER, at=at, coordinator_id=c,
                              required=required_of.get((m, p), False), counter_id=pk))
    for m, p, at, c in HeldAnswer.objects.filter(created, meeting_visible_q("meeting__"),
                                                 state=HeldAnswer.State.PENDING).order_by(
    ).values_list("meeting_id", "person_id", "created_at", coordinator):
        rows.append(AnswerRow(meeting_id=m, person_id=p, answer=Answer.HELD, at=at, coordinator_id=c, required=False))
    return rows


def answers_for(person_id: int, rows: Iterable[AnswerRow], every_coordinator: Iterable[int]) -> list[AnswerRow]:
    every = set(every_coordinator)
    return [r for r in rows if person_id in r.owners(every)]


@dataclass(frozen=True)
class OwedSummary:
    key: str
    person_id: int
    since: datetime
    until: datetime

    @property
    def due_at(self) -> datetime:
        return self.until + min(GRACE, window())


def summary_key(person_id: int, since: datetime | None) -> str:
    return f"answers:{person_id}:{since.isoformat() if since is not None else 'first'}"


def owed_summaries(*, rows: list[AnswerRow], every_coordinator: Iterable[int],
                   first_since: datetime) -> list[OwedSummary]:
    """The summaries owed now: for each coordinator with answers after their last window (or, never
    summarised, after ``first_since``), one window from the first of them; none while one is pending or
    being sent."""
    every = set(every_coordinator)
    moments: dict[int, list[datetime]] = defaultdict(list)
    for row in rows:
        for owner in row.owners(every):
            moments[owner].append(row.at)
    if not moments:
        return []
    # Each coordinator's latest window (its row, whatever became of it): one row each, not their history.
    latest = OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY, person_id__in=moments).order_by().values(
        "person_id").annotate(last=Max("id")).values("last")
    last: dict[int, tuple[str, dict[str, str]]] = {
        person_id: (state, payload)
        for person_id, state, payload in OutboxMessage.objects.filter(pk__in=latest).values_list(
            "person_id", "state", "payload")
    }
    owed = []
    for person_id, times in sorted(moments.items()):
        previous = last.get(person_id)
        if previous is not None and previous[0] in (State.PENDING, State.SENDING):
            continue  # the open window will list what it covers; the rest waits for the next
        since = datetime.fromisoformat(previous[1]["until"]) if previous is not None else None
        new = [t for t in times if t > (since or first_since)]
        if not new:
            continue
        until = min(new) + window()
        owed.append(OwedSummary(summary_key(person_id, since), person_id, since or first_since, until))
    return owed


def repair_proposals(meeting_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """For each meeting booked from an accepted proposal: ``(visit id, proposal id)`` — where the repair
    after a decline is previewed and confirmed (``scheduling.repair``). A meeting booked by hand has no
    repair; its coordinator replaces the host in the planner."""
    out: dict[int, tuple[int, int]] = {}
    for meeting_id, visit_id, proposal_id in ProposalItem.objects.filter(
        meeting_id__in=list(meeting_ids), proposal__status=Proposal.Status.ACCEPTED, removed=False,
    ).order_by("meeting_id", "-proposal_id").values_list("meeting_id", "proposal__visit_id", "proposal_id"):
        out.setdefault(meeting_id, (visit_id, proposal_id))
    return out


def pending_counters(meeting_ids: Iterable[int]) -> list[CounterProposal]:
    """Open "propose new time" answers (iTIP COUNTER) to these meetings, oldest first, with the person and
    the meeting loaded: the visit page lists them with Accept and Decline, the planner shades the time."""
    return list(CounterProposal.objects.filter(meeting_id__in=list(meeting_ids), state=CounterProposal.State.PENDING)
                .select_related("person", "meeting").order_by("created_at", "id"))
