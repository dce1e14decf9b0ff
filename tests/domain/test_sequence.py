"""iCalendar SEQUENCE: it rises exactly when participants must hear about a change (RFC 5546 §2.1.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import services
from events.errors import MeetingCancelled
from events.models import Meeting, MeetingRevision, Participation
from events.services import AgendaSpec, ParticipantSpec
from tests.domain.conftest import berlin
from tests.factories import EventFactory, PersonFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting():
    return services.meeting_create(
        title="R&D cooperation", starts_at=berlin(2030, 6, 3, 10), ends_at=berlin(2030, 6, 3, 11),
        room=RoomFactory(), participants=[ParticipantSpec(PersonFactory(), Participation.Role.HOST)],
        agenda_items=[AgendaSpec("Stem cells")],
    )


def seq(meeting: Meeting) -> int:
    return Meeting.objects.values_list("sequence", flat=True).get(pk=meeting.pk)


def test_a_new_meeting_starts_at_zero_with_a_stable_uid(meeting, settings):
    assert meeting.sequence == 0
    assert meeting.uid.endswith(f"@{settings.SITE_DOMAIN}")
    uid = meeting.uid
    services.meeting_update(meeting=meeting, title="Renamed")
    meeting.refresh_from_db()
    assert meeting.uid == uid


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "New title"},
        {"description": "Bring lab coats"},
        {"location": "Main entrance"},
        {"online_url": "https://meet.example.org/rd"},
        {"timezone": "Europe/London"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_significant_change_raises_sequence_once_and_records_a_revision(meeting, changes):
    services.meeting_update(meeting=meeting, **changes)

    assert seq(meeting) == 1
    revision = MeetingRevision.objects.get(meeting=meeting)
    assert revision.sequence == 1
    assert set(revision.changes) == set(changes)


def test_reschedule_raises_sequence_once_per_call(meeting):
    services.meeting_reschedule(meeting=meeting, starts_at=berlin(2030, 6, 3, 14), ends_at=berlin(2030, 6, 3, 15))

    assert seq(meeting) == 1
    (revision,) = MeetingRevision.objects.filter(meeting=meeting)
    assert set(revision.changes) == {"starts_at", "ends_at"}

    services.meeting_reschedule(meeting=meeting, starts_at=berlin(2030, 6, 4, 9), ends_at=berlin(2030, 6, 4, 10))
    assert seq(meeting) == 2
    # Participations follow the meeting, so the person constraint sees the new time.
    assert set(Participation.objects.filter(meeting=meeting).values_list("starts_at", "ends_at")) == {
        (berlin(2030, 6, 4, 9), berlin(2030, 6, 4, 10))
    }


def test_moving_room_raises_sequence(meeting):
    services.meeting_move_room(meeting=meeting, room=RoomFactory(venue=meeting.room.venue))
    assert seq(meeting) == 1


def test_unchanged_values_do_not_raise_sequence(meeting):
    services.meeting_update(meeting=meeting, title=meeting.title, starts_at=meeting.starts_at, room=meeting.room)
    services.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at, ends_at=meeting.ends_at)
    assert seq(meeting) == 0
    assert not MeetingRevision.objects.filter(meeting=meeting).exists()


def test_internal_fields_do_not_raise_sequence(meeting):
    services.meeting_update(meeting=meeting, kind=Meeting.Kind.TALK, event=EventFactory())
    meeting.refresh_from_db()
    assert meeting.kind == Meeting.Kind.TALK
    assert meeting.sequence == 0


def test_rsvp_and_participant_changes_do_not_raise_sequence(meeting):
    guest = PersonFactory()
    participation = services.participant_add(meeting=meeting, person=guest)
    services.participant_rsvp(participation=participation, answer=Participation.Rsvp.ACCEPTED)
    services.participant_rsvp(participation=participation, answer=Participation.Rsvp.ACCEPTED)
    services.participant_set_role(participation=participation, role=Participation.Role.PRESENTER)
    services.participant_remove(meeting=meeting, person=guest)

    assert seq(meeting) == 0
    participation_rsvp = Participation.objects.filter(meeting=meeting).count()
    assert participation_rsvp == 1


def test_agenda_change_raises_sequence_but_the_same_agenda_does_not(meeting):
    services.agenda_replace(meeting=meeting, items=[AgendaSpec("Stem cells")])
    assert seq(meeting) == 0

    services.agenda_replace(meeting=meeting, items=[AgendaSpec("Stem cells"), AgendaSpec("Horizon 2020", minutes=20)])
    assert seq(meeting) == 1
    assert list(meeting.agenda_items.values_list("position", "title")) == [(0, "Stem cells"), (1, "Horizon 2020")]


def test_cancel_raises_sequence_and_cancelling_twice_does_not(meeting):
    services.meeting_cancel(meeting=meeting)
    meeting.refresh_from_db()
    assert (meeting.status, meeting.sequence) == (Meeting.Status.CANCELLED, 1)
    assert meeting.cancelled_at is not None
    cancelled_at = meeting.cancelled_at

    again = services.meeting_cancel(meeting=meeting)

    assert again.sequence == 1
    meeting.refresh_from_db()
    assert (meeting.sequence, meeting.cancelled_at) == (1, cancelled_at)
    assert MeetingRevision.objects.filter(meeting=meeting).count() == 1
    # A cancelled meeting no longer occupies its host.
    assert not Participation.objects.filter(meeting=meeting, blocks_time=True).exists()


def test_a_cancelled_meeting_cannot_be_changed(meeting):
    services.meeting_cancel(meeting=meeting)
    with pytest.raises(MeetingCancelled):
        services.meeting_reschedule(
            meeting=meeting, starts_at=meeting.starts_at + timedelta(hours=1), ends_at=meeting.ends_at + timedelta(hours=1)
        )
    with pytest.raises(MeetingCancelled):
        services.participant_add(meeting=meeting, person=PersonFactory())
    assert seq(meeting) == 1
