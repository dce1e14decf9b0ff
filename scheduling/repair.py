"""Repairing a proposal after the world changed: a host declined or became unavailable, a meeting was cancelled.

A repair is two steps, so a coordinator sees what it will do before anyone is mailed:

1. **preview** (``proposal_repair(confirm=False)``): ``affected_items`` finds what no longer works and
   why; the affected items are re-solved (everything else held in place, the next expert swapped in
   when a host is gone) inside a savepoint that is rolled back, and the outcome is stored as the
   proposal's ``RepairPlan``: each item's move and new host, and who will get which mail — an update,
   a cancellation or a first invitation, derived here from the meeting's participants before and
   after (``scheduling`` may not import ``notifications``; this is the same rule its reconciliation
   applies: people added are invited, people removed get a cancellation, people who stay hear of a
   change of time, place or agenda) — or, for the delegation and the requester of a visit whose
   delegation mail is the programme (the default), the visit's "programme updated" mail.
2. **confirm** (``confirm=True`` with the plan's token): exactly that plan is applied through
   ``visits.booking``, unless the booked meetings changed since it was made (``RepairPlanStale``).

A cancelled meeting is a decision: repair never books it again. Its item is listed as affected
("stays cancelled") and left out of the re-solve, so its old slot is free for the others.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import cast

from django.db import transaction
from django.utils import timezone as djtz
from django.utils.translation import gettext

from availability.intervals import overlaps
from directory.models import Person
from events.models import Meeting, Participation
from visits import booking
from visits.models import ProgrammeKind, Visit
from visits.selectors import programme_recipient_ids, visible_meeting_ids

from .busy import busy_for
from .errors import RepairPlanStale
from .models import Proposal, ProposalItem
from .proposals import check_visit_open, frame_bounds, items_of, open_for_change, solve_into
from .unplaced import in_languages
from .values import ItemParticipant, Mail, Outcome, Placement, RepairChange, RepairPlan, Told

#: Why an item is affected, as a sentence made in the active language (stored in every language).
Why = Callable[[], str]


def _affected(proposal: Proposal) -> dict[str, Why]:
    """Items that no longer work, with why: a host declined, is now busy (absent…), or the meeting was cancelled."""
    frame = proposal.settings
    items = [i for i in items_of(proposal) if not i.removed and i.placed and not i.spec.dead_reason]
    booked = [i.meeting_id for i in items if i.meeting_id]
    declined = set(
        Participation.objects.filter(meeting_id__in=booked, rsvp=Participation.Rsvp.DECLINED)
        .values_list("meeting_id", "person_id")
    )
    people = {p for i in items for p in i.spec.required}
    bounds = frame_bounds(frame)
    # Placed items only (above), so every one has its times.
    start = min([bounds[0][0], *(cast(datetime, i.starts_at) for i in items)])
    end = max([bounds[-1][1], *(cast(datetime, i.ends_at) for i in items)])
    # Busy time *other than this proposal's own meetings*: absences, hours, other bookings.
    busy_people, busy_rooms = busy_for(people=people, rooms=[i.room_id for i in items if i.room_id],
                                       start=start, end=end, exclude_meetings=booked)
    names = dict(Person.objects.filter(pk__in=people).values_list("pk", "name"))

    out: dict[str, Why] = {}
    for item in items:
        if item.meeting is not None and item.meeting.status == Meeting.Status.CANCELLED:
            out[item.key] = lambda: gettext("its meeting was cancelled; repair leaves it cancelled")
            continue
        gone = [p for p in item.spec.required if (item.meeting_id, p) in declined]
        if gone:
            who = ", ".join(names.get(p, "") for p in gone)
            out[item.key] = lambda who=who: gettext("%(names)s declined") % {"names": who}  # type: ignore[misc]
            continue
        starts, ends = item.starts_at, item.ends_at
        assert starts is not None and ends is not None  # placed items only
        clash = [p for p in item.spec.required if overlaps(busy_people.get(p, []), starts, ends)]
        if clash:
            who = ", ".join(names.get(p, "") for p in clash)
            out[item.key] = lambda who=who: gettext("%(names)s is no longer free then") % {  # type: ignore[misc]
                "names": who}
            continue
        if item.room_id and any(a < ends and starts < b for a, b in busy_rooms.get(item.room_id, [])):
            room = item.room
            assert room is not None
            out[item.key] = lambda who=room.name: gettext("%(names)s is no longer free then") % {  # type: ignore[misc]
                "names": who}
    return out


def affected_items(proposal: Proposal) -> dict[str, str]:
    """What a repair would look at, with why, in the active language (``{}``: nothing to repair)."""
    return {key: why() for key, why in _affected(proposal).items()}


def _swap_host(item: ProposalItem, unavailable: set[int]) -> bool:
    """Give a topic item the next expert when its host dropped out; False if there is none."""
    spec = item.spec
    host = spec.host
    if item.kind != ProgrammeKind.TOPIC or host is None or host not in unavailable:
        return True
    spare = [p for p in spec.experts if p not in unavailable and p != host]
    if not spare:
        return False
    new_host = spare[0]
    delegation = tuple(p for p in spec.required if p != host)
    item.spec = replace(
        spec, host=new_host, required=(new_host, *delegation), optional=tuple(p for p in spec.optional if p != new_host),
        experts=(*(p for p in spec.experts if p != host), host),
    )
    item.participants = (ItemParticipant(new_host, "host"),
                         *(x for x in item.participants if x.person not in (host, new_host)))
    return True


def _fingerprint(proposal: Proposal, affected: set[str]) -> str:
    """The state a plan was made for: what is affected, and each booked meeting's version
    (SEQUENCE rises with every change of time, place or text), status and participants."""
    meetings = [i.meeting_id for i in items_of(proposal) if i.meeting_id]
    people: dict[int, list[int]] = {}
    for meeting_id, person_id in (Participation.objects.filter(meeting_id__in=meetings)
                                  .order_by("meeting_id", "person_id").values_list("meeting_id", "person_id")):
        people.setdefault(meeting_id, []).append(person_id)
    state = [(m.pk, m.sequence, m.status, people.get(m.pk, []))
             for m in Meeting.objects.filter(pk__in=meetings).order_by("pk")]
    return hashlib.sha256(repr((sorted(affected), state)).encode()).hexdigest()


def _placement(item: ProposalItem, *, starts_at: datetime | None, ends_at: datetime | None, room_id: int | None,
               rooms: dict[int, str], names: dict[int, str]) -> Placement:
    host = item.spec.host
    return Placement(starts_at=starts_at, ends_at=ends_at, room=room_id, room_name=rooms.get(room_id or 0, ""),
                     location=item.location, host=host, host_name=names.get(host, "") if host else "")


def _agenda(item: ProposalItem, people: dict[int, Person]) -> list[booking.AgendaSpec] | None:
    """A topic meeting's agenda: its topic, presented by its host (None: leave the agenda alone)."""
    host = item.spec.host
    if item.topic is None or host is None or host not in people:
        return None
    return [booking.AgendaSpec(title=item.topic.name, topic=item.topic, presenter=people[host],
                               minutes=item.spec.duration_minutes)]


def _told(meeting: Meeting, *, moved: bool, participants: tuple[ItemParticipant, ...],
          agenda: list[booking.AgendaSpec] | None, names: dict[int, str],
          programme_readers: set[int]) -> tuple[Told, ...]:
    """Who hears what when the meeting changes like this: derived from its participants before and after.
    ``programme_readers`` hear of any change through their visit's programme update instead."""
    before = set(meeting.participations.values_list("person_id", flat=True))
    after = {p.person for p in participants}
    agenda_changes = agenda is not None and [
        (a.title, a.topic_id, a.presenter_id, a.minutes) for a in meeting.agenda_items.all()
    ] != [(a.title, a.topic.pk if a.topic else None, a.presenter.pk if a.presenter else None, a.minutes)
          for a in agenda]
    told = [Told(p, names.get(p, ""), Mail.INVITATION) for p in sorted(after - before)]
    told += [Told(p, names.get(p, ""), Mail.CANCEL) for p in sorted(before - after)]
    if moved or agenda_changes:
        told += [Told(p, names.get(p, ""), Mail.UPDATE) for p in sorted(before & after)]
    told = [replace(t, mail=Mail.PROGRAMME) if t.person in programme_readers else t for t in told]
    return tuple(sorted(told, key=lambda t: (t.name, t.person)))


def _plan(proposal: Proposal, *, time_limit_seconds: float) -> RepairPlan:
    """Work out the repair without changing anything (the search runs in a savepoint that is rolled back)."""
    affected = _affected(proposal)
    fingerprint = _fingerprint(proposal, set(affected))
    items = {i.key: i for i in items_of(proposal)}
    cancelled = {k for k in affected if items[k].meeting is not None
                 and cast(Meeting, items[k].meeting).status == Meeting.Status.CANCELLED}
    to_fix = set(affected) - cancelled
    placed: set[str] = set()
    results: dict[str, ProposalItem] = {}
    solver_status, objective = proposal.solver_status, dict(proposal.objective)
    if to_fix:
        with transaction.atomic():
            # Cancelled items are out of this search: their slot is free, and nothing books them again.
            ProposalItem.objects.filter(pk__in=[items[k].pk for k in cancelled]).update(removed=True)
            placed = _search(proposal, to_fix, time_limit_seconds=time_limit_seconds)
            results = {i.key: i for i in items_of(proposal) if i.key in to_fix}
            solver_status, objective = proposal.solver_status, dict(proposal.objective)
            transaction.set_rollback(True)
        proposal.refresh_from_db()
    people_ids = {p for i in items.values() for p in (*i.spec.required, *i.spec.optional, *(x.person for x in i.participants))}
    people_ids |= {p for i in results.values() for p in (*i.spec.required, *(x.person for x in i.participants))}
    meetings = [i.meeting_id for i in items.values() if i.meeting_id]
    people_ids |= set(Participation.objects.filter(meeting_id__in=meetings).values_list("person_id", flat=True))
    people = {p.pk: p for p in Person.objects.filter(pk__in=people_ids)}
    names = {pk: p.name for pk, p in people.items()}
    rooms = {i.room_id: i.room.name for i in [*items.values(), *results.values()] if i.room_id and i.room}
    announced = set(visible_meeting_ids(meeting_ids=meetings, now=djtz.now()))
    visit = proposal.visit
    programme_readers = (programme_recipient_ids(visit) if visit.delegation_mail == Visit.DelegationMail.PROGRAMME
                         else set())
    changes = []
    for key in sorted(affected, key=lambda k: (items[k].starts_at or djtz.now(), items[k].position)):
        item = items[key]
        meeting = item.meeting
        before = _placement(item, starts_at=meeting.starts_at if meeting else item.starts_at,
                            ends_at=meeting.ends_at if meeting else item.ends_at,
                            room_id=meeting.room_id if meeting else item.room_id, rooms=rooms, names=names)
        why = in_languages(affected[key])
        base = RepairChange(key=key, title=item.title, outcome=Outcome.STAYS_CANCELLED, why=why, before=before,
                            after=before, meeting=item.meeting_id)
        if key in cancelled:
            changes.append(base)
            continue
        result = results[key]
        if key not in placed:
            changes.append(replace(base, outcome=Outcome.NOT_REPAIRED, reasons=dict(result.reasons)))
            continue
        after = _placement(result, starts_at=result.starts_at, ends_at=result.ends_at, room_id=result.room_id,
                           rooms=rooms, names=names)
        told: tuple[Told, ...] = ()
        if meeting is not None and meeting.pk in announced:
            told = _told(meeting, moved=not before.same_place(after), participants=result.participants,
                         agenda=_agenda(result, people), names=names, programme_readers=programme_readers)
        changes.append(replace(base, outcome=Outcome.REPAIRED, after=after, told=told, spec=result.spec,
                               participants=result.participants, reasons=dict(result.reasons)))
    return RepairPlan(token=uuid.uuid4().hex, made_at=djtz.now(), fingerprint=fingerprint,
                      announced=bool(announced), changes=tuple(changes), solver_status=solver_status,
                      objective=objective)


def _search(proposal: Proposal, affected: set[str], *, time_limit_seconds: float) -> set[str]:
    """Re-solve the affected items; a declined host gives way to the next expert at once, an
    unavailable one first gets another time and only then another expert. Writes the items
    (the caller rolls back), on copies of its own: the caller's still show the state before."""
    items = {i.key: i for i in items_of(proposal)}
    declined = set(
        Participation.objects.filter(meeting_id__in=[i.meeting_id for i in items.values() if i.meeting_id],
                                     rsvp=Participation.Rsvp.DECLINED).values_list("meeting_id", "person_id")
    )
    for key in affected:
        item = items[key]
        gone = {p for m, p in declined if m == item.meeting_id}
        if gone and _swap_host(item, gone):
            item.save(update_fields=["spec", "participants"])
    placed = solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=affected)
    still = [i for i in items_of(proposal) if i.key in affected and i.key not in placed]
    if still:
        bounds = frame_bounds(proposal.settings)
        hosts = {i.spec.host for i in still if i.spec.host}
        busy_people, _ = busy_for(people=hosts, rooms=[], start=bounds[0][0], end=bounds[-1][1],
                                  exclude_meetings=[i.meeting_id for i in items.values() if i.meeting_id])
        swapped = False
        for item in still:
            host = item.spec.host
            if host and busy_people.get(host) and _swap_host(item, {host}):
                item.save(update_fields=["spec", "participants"])
                swapped = True
        if swapped:
            placed = solve_into(proposal, time_limit_seconds=time_limit_seconds / 2, only=affected)
    return placed


@transaction.atomic
def proposal_repair(*, proposal: Proposal, time_limit_seconds: float = 5.0, confirm: bool = False,
                    plan: str | None = None) -> tuple[Proposal, RepairPlan]:
    """Preview a repair (the default) or apply one; returns the proposal and the plan.

    ``confirm=False`` works the repair out, stores it as ``proposal.repair`` and changes nothing else:
    no meeting, no mail. ``confirm=True`` with ``plan`` (a preview's token) applies exactly that
    preview, or raises ``RepairPlanStale`` when it is not the latest or the booked meetings changed
    since; ``confirm=True`` without a token works the repair out and applies it at once.
    """
    proposal = open_for_change(proposal)
    check_visit_open(proposal.visit)
    if confirm and plan:
        stored = proposal.repair
        if stored is None or stored.token != plan or stored.applied_at is not None:
            raise RepairPlanStale(gettext("This repair is no longer the latest preview; preview the repair again."),
                                  field="plan")
        if _fingerprint(proposal, set(affected_items(proposal))) != stored.fingerprint:
            raise RepairPlanStale(gettext("The programme changed since this repair was previewed; nothing was "
                                          "changed. Preview the repair again."), field="plan")
        chosen = stored
    else:
        chosen = _plan(proposal, time_limit_seconds=time_limit_seconds)
    if confirm:
        _apply(proposal, chosen)
        chosen = replace(chosen, applied_at=djtz.now())
    proposal.repair = chosen
    proposal.save(update_fields=["repair", "updated_at"])
    return proposal, chosen


def _apply(proposal: Proposal, plan: RepairPlan) -> None:
    """Write the plan: items take their new time, room, host and reason; their meetings change
    through ``visits.booking`` (which re-checks availability and overlaps); cancelled ones stay."""
    items = {i.key: i for i in items_of(proposal)}
    wanted = {x.person for c in plan.changes for x in c.participants}
    people = {p.pk: p for p in Person.objects.filter(pk__in=wanted)}
    for change in plan.changes:
        item = items.get(change.key)
        if item is None or change.outcome == Outcome.STAYS_CANCELLED:
            continue
        item.reasons = change.reasons or item.reasons
        item.reason = item.reasons.get("en") or next(iter(item.reasons.values()), "")
        if change.outcome == Outcome.NOT_REPAIRED or change.spec is None:
            item.save(update_fields=["reason", "reasons"])
            continue
        item.spec, item.participants = change.spec, change.participants
        item.starts_at, item.ends_at, item.room_id = change.after.starts_at, change.after.ends_at, change.after.room
        item.save(update_fields=["spec", "participants", "starts_at", "ends_at", "room", "reason", "reasons"])
        meeting = item.meeting
        if meeting is None or meeting.status == Meeting.Status.CANCELLED:
            continue  # never booked, or cancelled on purpose: nothing to book here
        booking.meeting_change(
            meeting=meeting,
            changes=None if change.before.same_place(change.after)
            else {"starts_at": item.starts_at, "ends_at": item.ends_at, "room": item.room},
            participants=[booking.ParticipantSpec(person=people[x.person], role=x.role) for x in item.participants],
            agenda_items=_agenda(item, people),
            booker=booking.COORDINATOR,
        )
    if plan.solver_status:
        proposal.solver_status, proposal.objective = plan.solver_status, dict(plan.objective)
        proposal.save(update_fields=["solver_status", "objective", "updated_at"])
