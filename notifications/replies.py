"""What answers from calendar clients do: record them, hold them for a coordinator, or ignore them.

``message_take`` is called once per message read from the organiser mailbox (``notifications.mailbox``).
It records the message in ``InboundMessage`` *in the same transaction* as everything the message
changes, keyed by its fingerprint, so a message read twice — delivered twice, or read again after a
worker died between recording it and moving it out of the inbox — changes nothing the second time.

The rules for a REPLY (RFC 5546 §3.2.3), per attendee it carries:

* the meeting is found by UID (a RECURRENCE-ID must name the meeting's own start: Visitdesk meetings
  do not repeat), the attendee among its participants by address, case- and ``mailto:``-insensitively;
* an answer to an older SEQUENCE than the one the person last received (``InviteState``) is ignored: it
  answers a time or place that no longer holds; so is one older (DTSTAMP) than the answer on record;
* ACCEPTED, DECLINED and TENTATIVE are recorded through ``visits.booking.meeting_answer`` — the same
  record, feeds and mails as the signed RSVP link;
* only the attendee may answer for themself: a From address that is not theirs, with no SENT-BY naming
  it, is held (``HeldAnswer``) for a coordinator to confirm — mail is easy to forge;
* DELEGATED (with DELEGATED-TO) is held too: the delegate would become a participant, which is a
  coordinator's decision (``held_answer_confirm`` → ``visits.booking.meeting_delegate``);
* answers about cancelled meetings, unknown UIDs or people not on the meeting are ignored and logged.

A COUNTER ("propose new time", §3.2.7) becomes a ``CounterProposal``; ``counter_accept`` reschedules the
meeting through the booking module (everyone gets the update as usual), ``counter_decline`` owes the
person a METHOD:DECLINECOUNTER (an outbox row, sent by the dispatcher).
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError, ValidationFailed
from directory.models import Person
from directory.services import person_get_or_create
from events.models import Meeting, Participation
from visits import booking

from .itip_in import Attendee, Itip, ItipEvent, Mail, NotACalendar, parse_itip, read_mail
from .models import CounterProposal, HeldAnswer, InboundMessage, InviteState, Kind, OutboxMessage
from .reconcile import coordinators_for
from .tasks import nudge_after_commit

logger = logging.getLogger(__name__)
Outcome = InboundMessage.Outcome

#: iTIP PARTSTAT → Visitdesk answer.
ANSWERS = {
    "ACCEPTED": Participation.Rsvp.ACCEPTED,
    "DECLINED": Participation.Rsvp.DECLINED,
    "TENTATIVE": Participation.Rsvp.TENTATIVE,
}
#: How much each outcome says about a message; the message's outcome is the strongest of its events'.
_STRENGTH = [Outcome.IGNORED, Outcome.APPLIED, Outcome.COUNTER, Outcome.HELD, Outcome.REFUSED]
#: Messages kept byte for byte for a person (refused calendars, forwarded mail) up to this size.
MAX_KEPT_BYTES = 5 * 1024 * 1024


class AlreadyDecided(DomainError):
    code = "already_decided"
    status = 409


class MeetingChanged(DomainError):
    """The meeting moved (or changed otherwise) after the counter-proposal was made."""

    code = "meeting_changed"
    status = 409


@dataclass
class Decision:
    """What one message did, line by line (shown in the admin and logged)."""

    outcome: str = Outcome.IGNORED
    lines: list[str] = field(default_factory=list)

    def note(self, outcome: str, line: str) -> None:
        if _STRENGTH.index(Outcome(outcome)) > _STRENGTH.index(Outcome(self.outcome)):
            self.outcome = outcome
        self.lines.append(line)


# --- taking one message --------------------------------------------------------------------------


def message_take(*, raw: bytes, mailbox_uid: str = "", forward_other: bool = False) -> tuple[InboundMessage, bool]:
    """Record and act on one message from the organiser mailbox, exactly once.

    Returns the record and whether it is new (False: this message was taken before, nothing changed).
    """
    mail = read_mail(raw)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = InboundMessage.objects.create(
                    fingerprint=mail.fingerprint, message_id=mail.message_id, mailbox_uid=mailbox_uid[:100],
                    sender=mail.sender[:320], subject=mail.subject, outcome=Outcome.IGNORED,
                )
        except IntegrityError:
            # Taken before (a second delivery, or read again after a crash before the move): the
            # first reading's record stands and tells the caller where the message belongs.
            return InboundMessage.objects.get(fingerprint=mail.fingerprint), False
        decision = Decision()
        methods: list[str] = []
        if not mail.calendars:
            decision.note(Outcome.IGNORED, "no calendar in this message")
            record.outcome = Outcome.NOT_ITIP
        else:
            for text in mail.calendars:
                try:
                    itip = parse_itip(text)
                except NotACalendar as exc:
                    decision.note(Outcome.REFUSED, f"refused: {exc}")
                    continue
                methods.append(itip.method)
                _take_itip(itip, mail=mail, record=record, decision=decision)
            record.outcome = decision.outcome
        record.method = ",".join(dict.fromkeys(methods))[:20]
        record.detail = "\n".join(decision.lines)[:10000]
        keep = record.outcome == Outcome.REFUSED or (record.outcome == Outcome.NOT_ITIP and forward_other)
        if keep and len(raw) <= MAX_KEPT_BYTES:
            record.raw = raw
        record.save()
        if record.outcome == Outcome.NOT_ITIP and forward_other:
            _owe_forward(record)
    level = logging.WARNING if record.outcome in (Outcome.REFUSED, Outcome.HELD) else logging.INFO
    logger.log(level, "organiser mailbox: %s from %s (%s): %s", record.outcome, record.sender, record.message_id,
               record.detail.replace("\n", "; "))
    return record, True


def _owe_forward(record: InboundMessage) -> None:
    now = timezone.now()
    OutboxMessage.objects.bulk_create([
        OutboxMessage(key=f"mailbox-forward:{record.pk}:{person.pk}", kind=Kind.MAILBOX_FORWARD, person=person,
                      due_at=now, payload={"inbound": record.pk})
        for person in coordinators_for(None)
    ], ignore_conflicts=True)
    nudge_after_commit()


def _take_itip(itip: Itip, *, mail: Mail, record: InboundMessage, decision: Decision) -> None:
    if itip.method not in ("REPLY", "COUNTER"):
        decision.note(Outcome.IGNORED, f"METHOD:{itip.method} is no answer to the organiser")
        return
    for event in itip.events:
        meeting = Meeting.objects.filter(uid=event.uid).first()
        if meeting is None:
            decision.note(Outcome.IGNORED, f"{event.uid}: no meeting has this UID")
            continue
        if event.recurrence_id is not None and not _same_moment(event.recurrence_id, meeting.starts_at):
            decision.note(Outcome.IGNORED, f"{event.uid}: RECURRENCE-ID {event.recurrence_id} names no occurrence")
            continue
        if meeting.is_cancelled:
            decision.note(Outcome.IGNORED, f"“{meeting.title}” was cancelled: the {itip.method} changes nothing")
            continue
        by_address = {p.person.email.strip().lower(): p
                      for p in meeting.participations.select_related("person")}
        candidates = [(a, by_address[a.address]) for a in event.attendees if a.address in by_address]
        if not candidates:
            decision.note(Outcome.IGNORED, f"“{meeting.title}”: no attendee of this {itip.method} takes part "
                                           f"({', '.join(a.address for a in event.attendees) or 'none named'})")
            continue
        speakers = [(a, p) for a, p in candidates if mail.sender and mail.sender in (a.address, a.sent_by)]
        if itip.method == "COUNTER":
            _take_counter(event, meeting=meeting, candidates=candidates, speakers=speakers, mail=mail, record=record,
                          decision=decision)
            continue
        trusted = bool(speakers)
        for attendee, participation in (speakers or candidates):
            _take_reply(event, attendee, participation, meeting=meeting, trusted=trusted, mail=mail, record=record,
                        event_attendees=event.attendees, decision=decision)


def _same_moment(value: datetime | date, starts_at: datetime) -> bool:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value == starts_at.astimezone(UTC).replace(tzinfo=None)
        return value == starts_at
    return value == starts_at.date()


def _stale(event: ItipEvent, participation: Participation, meeting: Meeting) -> str:
    """Why this answer is too old to count, or "" when it counts."""
    told = InviteState.objects.filter(person_id=participation.person_id, meeting_id=meeting.pk).first()
    if told is not None and told.method == InviteState.Method.CANCEL:
        return "was told the meeting is cancelled for them"
    last = told.sequence if told is not None else meeting.sequence
    if event.sequence < last:
        return f"answers SEQUENCE {event.sequence}, but was last sent SEQUENCE {last}"
    return ""


def _take_reply(event: ItipEvent, attendee: Attendee, participation: Participation, *, meeting: Meeting, trusted: bool,
                mail: Mail, record: InboundMessage, event_attendees: tuple[Attendee, ...], decision: Decision) -> None:
    who = f"{participation.person.email} on “{meeting.title}”"
    stale = _stale(event, participation, meeting)
    if stale:
        decision.note(Outcome.IGNORED, f"{who}: ignored, {stale}")
        return
    if attendee.partstat == "DELEGATED" and attendee.delegated_to:
        delegate = attendee.delegated_to[0]
        name = next((a.name for a in event_attendees if a.address == delegate), "")
        reason = "delegated to someone else" + ("" if trusted else f"; sent from {mail.sender or 'no address'}")
        HeldAnswer.objects.create(
            inbound=record, meeting=meeting, person=participation.person, kind=HeldAnswer.Kind.DELEGATION,
            sender=mail.sender[:320], delegate_email=delegate[:254], delegate_name=name[:200], sequence=event.sequence,
            reason=reason,
        )
        decision.note(Outcome.HELD, f"{who}: delegates to {delegate}, held for a coordinator")
        return
    answer = ANSWERS.get(attendee.partstat)
    if answer is None:
        decision.note(Outcome.IGNORED, f"{who}: PARTSTAT {attendee.partstat} is no answer")
        return
    if not trusted:
        HeldAnswer.objects.create(
            inbound=record, meeting=meeting, person=participation.person, kind=HeldAnswer.Kind.ANSWER, answer=answer,
            sender=mail.sender[:320], sequence=event.sequence,
            reason=f"sent from {mail.sender or 'no address'}, not by the attendee (no SENT-BY)",
        )
        decision.note(Outcome.HELD, f"{who}: {answer} from {mail.sender or 'no address'}, held for a coordinator")
        return
    if (event.dtstamp is not None and participation.responded_at is not None
            and event.dtstamp < participation.responded_at):
        decision.note(Outcome.IGNORED, f"{who}: ignored, older than the answer on record")
        return
    try:
        booking.meeting_answer(participation=participation, answer=answer)
    except DomainError as exc:
        decision.note(Outcome.IGNORED, f"{who}: not recorded: {exc}")
        return
    decision.note(Outcome.APPLIED, f"{who}: {answer}")


def _aware(value: datetime | date | None, tz: str) -> datetime | None:
    """A proposed time as an instant; a floating time is read in the meeting's zone."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return value


def _take_counter(event: ItipEvent, *, meeting: Meeting, candidates: list[tuple[Attendee, Participation]],
                  speakers: list[tuple[Attendee, Participation]], mail: Mail, record: InboundMessage,
                  decision: Decision) -> None:
    _attendee, participation = (speakers or candidates)[0]
    who = f"{participation.person.email} on “{meeting.title}”"
    stale = _stale(event, participation, meeting)
    if stale:
        decision.note(Outcome.IGNORED, f"{who}: counter-proposal ignored, {stale}")
        return
    starts_at, ends_at = _aware(event.dtstart, meeting.timezone), _aware(event.dtend, meeting.timezone)
    if starts_at is None:
        decision.note(Outcome.IGNORED, f"{who}: counter-proposal without a start time")
        return
    if ends_at is None:
        ends_at = starts_at + (meeting.ends_at - meeting.starts_at)
    if ends_at <= starts_at:
        decision.note(Outcome.IGNORED, f"{who}: counter-proposal ends before it starts")
        return
    comment = event.comment
    if not speakers:
        comment = (f"[sent from {mail.sender or 'no address'}, not by the attendee] " + comment).strip()
    CounterProposal.objects.create(inbound=record, meeting=meeting, person=participation.person, starts_at=starts_at,
                                   ends_at=ends_at, comment=comment[:2000], sequence=event.sequence)
    decision.note(Outcome.COUNTER, f"{who}: proposes {starts_at.isoformat()}–{ends_at.isoformat()}")


# --- a coordinator decides ---------------------------------------------------------------------


def _decided(obj: Any, *, state: str, user: Any) -> None:
    obj.state = state
    obj.decided_by = user if getattr(user, "pk", None) else None
    obj.decided_at = timezone.now()
    obj.save(update_fields=["state", "decided_by", "decided_at"])


def _pending(model: Any, pk: int) -> Any:
    obj = model.objects.select_for_update().select_related("meeting", "person").get(pk=pk)
    if obj.state != model.State.PENDING:
        raise AlreadyDecided(f"Already decided: {obj.get_state_display().lower()}.")
    return obj


@transaction.atomic
def held_answer_confirm(*, held: HeldAnswer, user: Any = None) -> HeldAnswer:
    """Apply a held answer as if the attendee had sent it; a delegation adds the delegate to the meeting
    (a new or existing person with that address) through ``visits.booking.meeting_delegate``."""
    held = _pending(HeldAnswer, held.pk)
    participation = Participation.objects.filter(meeting_id=held.meeting_id, person_id=held.person_id).first()
    if participation is None:
        raise ValidationFailed("The attendee is no longer on this meeting.", field="person")
    if held.kind == HeldAnswer.Kind.DELEGATION:
        delegate: Person
        delegate, _ = person_get_or_create(email=held.delegate_email,
                                           defaults={"name": held.delegate_name or held.delegate_email})
        booking.meeting_delegate(participation=participation, delegate=delegate, booker=booking.COORDINATOR)
    else:
        booking.meeting_answer(participation=participation, answer=held.answer)
    _decided(held, state=HeldAnswer.State.CONFIRMED, user=user)
    return held


@transaction.atomic
def held_answer_reject(*, held: HeldAnswer, user: Any = None) -> HeldAnswer:
    held = _pending(HeldAnswer, held.pk)
    _decided(held, state=HeldAnswer.State.REJECTED, user=user)
    return held


@transaction.atomic
def counter_accept(*, counter: CounterProposal, user: Any = None, override: bool = False) -> CounterProposal:
    """Move the meeting to the proposed time through the booking module (overlaps and availability are
    checked as for any move; everyone gets the update). Refused when the meeting changed since the
    proposal was made: the person proposed against a time that no longer holds."""
    counter = _pending(CounterProposal, counter.pk)
    meeting = Meeting.objects.select_for_update().get(pk=counter.meeting_id)
    if meeting.sequence > counter.sequence:
        raise MeetingChanged("The meeting changed after this proposal was made; decline it or move the meeting "
                             "yourself.")
    booking.meeting_reschedule(meeting=meeting, starts_at=counter.starts_at, ends_at=counter.ends_at,
                               override=override, booker=booking.COORDINATOR)
    _decided(counter, state=CounterProposal.State.ACCEPTED, user=user)
    return counter


@transaction.atomic
def counter_decline(*, counter: CounterProposal, user: Any = None, comment: str = "") -> CounterProposal:
    """The meeting stays; the person is owed METHOD:DECLINECOUNTER (sent by the dispatcher)."""
    counter = _pending(CounterProposal, counter.pk)
    _decided(counter, state=CounterProposal.State.DECLINED, user=user)
    OutboxMessage.objects.get_or_create(
        key=f"declinecounter:{counter.pk}",
        defaults={"kind": Kind.DECLINE_COUNTER, "person_id": counter.person_id, "meeting_id": counter.meeting_id,
                  "due_at": timezone.now(), "payload": {"counter": counter.pk, "comment": comment[:1000]}},
    )
    nudge_after_commit()
    return counter
