"""From a computed suggestion to a booking: proposal items become ``visits.booking.BookingSpec``.

Booking itself is ``visits.booking``'s (``programme_book``): it re-reads the busy time of the people
the meeting would occupy and of its room — if the world changed since the suggestion was computed,
nothing is booked and the caller gets a 409 (``WorldChanged``) naming who or what became busy — and
then books each meeting like any other, so invitations follow as usual.
"""

from __future__ import annotations

from directory.models import Person, Topic
from visits.booking import AgendaSpec, BookingSpec, ParticipantSpec

from .models import ProposalItem

__all__ = ["BookingSpec", "booking_for_item"]


def booking_for_item(item: ProposalItem, people: dict[int, Person]) -> BookingSpec:
    assert item.starts_at is not None and item.ends_at is not None  # only placed items are booked
    participants = [ParticipantSpec(person=people[p.person], role=p.role) for p in item.participants]
    agenda = []
    if item.topic is not None:
        host = people.get(item.spec.host) if item.spec.host is not None else None
        ids = list(item.spec.topics) or [item.topic.pk]
        topics = {t.pk: t for t in Topic.objects.filter(pk__in=ids)} if len(ids) > 1 else {item.topic.pk: item.topic}
        # One agenda item per topic: a merged session covers each (and a later proposal sees that).
        agenda = [AgendaSpec(title=topics[t].name, topic=topics[t], presenter=host,
                             minutes=topics[t].meeting_minutes if len(ids) > 1 else item.spec.duration_minutes)
                  for t in ids if t in topics]
    # No description: the reason speaks of hosts' free time, which is not for the invitees' eyes.
    return BookingSpec(key=item.key, title=item.title, starts_at=item.starts_at, ends_at=item.ends_at,
                       room=item.room, participants=participants, kind=item.meeting_kind, location=item.location,
                       agenda=agenda, programme_kind=item.kind, required=tuple(item.spec.required))
