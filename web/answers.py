"""What the answers to a programme's invitations mean for the coordinator, shaped for the pages.

A decline by someone a meeting needs — a host, chair or presenter, or a member of the visiting delegation
(``Participation.blocks_time``, as ``visits.booking.blocking_people`` decided when it was booked) — leaves
a hole in the programme: the planner's block and the visit page say who declined and offer the repair
(``scheduling.repair``: a preview first, nothing changes until it is confirmed) when the meeting was booked
from an accepted proposal. Maybe (tentative) and no answer yet are shown quietly; a guest's decline is
news but no hole.

Whatever channel the answer came through — the signed link in a mail, the staff page, a calendar client's
REPLY read from the organiser mailbox — it is the same participation's ``rsvp``, so the pages need no
knowledge of the channel. Pure functions over meetings loaded by ``events.selectors.meeting_list``
(participations and people prefetched) plus one query for the repairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.urls import reverse

from events.models import Meeting, Participation
from notifications.answers import pending_counters, repair_proposals


@dataclass(frozen=True)
class Repair:
    """Where the repair after a decline starts: a POST to ``preview`` works the repair out and shows it on
    the proposal page (``page``), with the button that confirms it."""

    preview: str
    page: str


@dataclass(frozen=True)
class MeetingAnswers:
    """The answers of one scheduled meeting that a coordinator should see, by name."""

    meeting_id: int
    title: str
    starts_at: datetime
    #: People the meeting needs who declined: the programme has a hole.
    declined: tuple[str, ...] = ()
    #: Guests who declined: news, no hole.
    declined_guests: tuple[str, ...] = ()
    tentative: tuple[str, ...] = ()
    #: Hosts, chairs and presenters who have not answered yet (the delegation usually hears by programme
    #: mail, which asks for no answer: their silence is no news).
    waiting: tuple[str, ...] = ()
    repair: Repair | None = None

    @property
    def needs_repair(self) -> bool:
        return bool(self.declined)

    @property
    def quiet(self) -> bool:
        """A maybe and no decline: shown subtly (no answer yet is only said to screen readers)."""
        return not self.declined and bool(self.tentative)


def _names(participations: Iterable[Participation]) -> tuple[str, ...]:
    return tuple(p.person.name for p in participations)


def meeting_answers(meetings: Iterable[Meeting], *, visit_id: int | None = None) -> dict[int, MeetingAnswers]:
    """Scheduled meetings with something to show, by meeting id. ``visit_id``: repairs of that visit only
    (the visit page); None: of any visit (a room's or a person's day)."""
    out: dict[int, MeetingAnswers] = {}
    for meeting in meetings:
        if meeting.status != Meeting.Status.SCHEDULED:
            continue
        people = list(meeting.participations.all())
        declined = [p for p in people if p.rsvp == Participation.Rsvp.DECLINED]
        shown = MeetingAnswers(
            meeting_id=meeting.pk, title=meeting.title, starts_at=meeting.starts_at,
            declined=_names(p for p in declined if p.blocks_time),
            declined_guests=_names(p for p in declined if not p.blocks_time),
            tentative=_names(p for p in people if p.rsvp == Participation.Rsvp.TENTATIVE),
            # whose time it blocks as host, chair or presenter: not the delegation (``exclusive``)
            waiting=_names(p for p in people if p.blocks_time and not p.exclusive
                           and p.rsvp == Participation.Rsvp.NEEDS_ACTION),
        )
        if shown.declined or shown.declined_guests or shown.tentative or shown.waiting:
            out[meeting.pk] = shown
    needing = [pk for pk, shown in out.items() if shown.needs_repair]
    if needing:
        for meeting_id, (visit, proposal) in repair_proposals(needing).items():
            if visit_id is not None and visit != visit_id:
                continue
            preview = reverse("web:staff-visit-proposal-repair", kwargs={"pk": visit, "proposal_id": proposal})
            page = reverse("web:staff-visit-proposal", kwargs={"pk": visit}) + f"?proposal={proposal}"
            out[meeting_id] = replace(out[meeting_id], repair=Repair(preview=preview, page=page))
    return out


def needing_repair(answers: dict[int, MeetingAnswers]) -> list[MeetingAnswers]:
    """The visit page's list: meetings someone they need declined, in programme order."""
    return sorted((a for a in answers.values() if a.needs_repair), key=lambda a: (a.starts_at, a.meeting_id))


@dataclass(frozen=True)
class Counter:
    """A "propose new time" (iTIP COUNTER from Outlook, Gmail, Apple Calendar…) waiting for the coordinator:
    the visit page lists it with Accept and Decline, the planner shades the proposed time in the meeting's
    lane with who asked. ``current`` is False when the meeting moved after the proposal was made: accepting
    it is then refused (``notifications.replies.counter_accept``), declining still tells the person."""

    id: int
    meeting: Meeting
    person: str
    starts_at: datetime
    ends_at: datetime
    comment: str
    current: bool
    accept: str
    decline: str

    @property
    def meeting_id(self) -> int:
        return self.meeting.pk

    @property
    def title(self) -> str:
        return self.meeting.title


def counters_for(meetings: Iterable[Meeting], *, visit_id: int) -> list[Counter]:
    """The open counter-proposals to the visit's scheduled meetings, oldest first."""
    scheduled = [m.pk for m in meetings if m.status == Meeting.Status.SCHEDULED]
    out = []
    for c in pending_counters(scheduled):
        kwargs = {"pk": visit_id, "counter_id": c.pk}
        out.append(Counter(id=c.pk, meeting=c.meeting, person=c.person.name, starts_at=c.starts_at,
                           ends_at=c.ends_at, comment=c.comment, current=c.sequence >= c.meeting.sequence,
                           accept=reverse("web:staff-visit-counter-accept", kwargs=kwargs),
                           decline=reverse("web:staff-visit-counter-decline", kwargs=kwargs)))
    return out
