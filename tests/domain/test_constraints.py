"""What the database itself refuses, past the service layer, and how the services name conflicts.

The exclusion constraints exist on PostgreSQL only (``on_postgres``); the uniqueness and check
constraints hold on SQLite too.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from core.errors import ValidationFailed
from directory.models import Person
from directory.services import person_get_or_create
from events import services
from events.errors import ScheduleConflict
from events.models import Meeting, Participation
from events.services import ParticipantSpec
from tests.domain.conftest import berlin
from tests.factories import MeetingFactory, ParticipationFactory, PersonFactory, RoomFactory

pytestmark = pytest.mark.django_db

R = Participation.Role
NINE, TEN, ELEVEN = berlin(2030, 6, 3, 9), berlin(2030, 6, 3, 10), berlin(2030, 6, 3, 11)
HALF_PAST_NINE, HALF_PAST_TEN = berlin(2030, 6, 3, 9, 30), berlin(2030, 6, 3, 10, 30)


@contextmanager
def refused():
    """Expect the database to refuse the write (inside a savepoint so the test can go on)."""
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield excinfo


# --- everywhere ------------------------------------------------------------------------------


def test_person_email_is_unique_ignoring_case():
    Person.objects.create(name="Anna", email="Anna.Berg@Example.org")
    with refused():
        Person.objects.create(name="Anna again", email="anna.berg@example.ORG")
    assert Person.objects.count() == 1


def test_person_get_or_create_finds_the_same_person_in_any_case():
    anna, created = person_get_or_create(email="anna@example.org", defaults={"name": "Anna"})
    again, created_again = person_get_or_create(email="  ANNA@Example.org ", defaults={"name": "Other"})
    assert created and not created_again
    assert again.pk == anna.pk and again.name == "Anna"


@pytest.mark.parametrize("minutes", [0, -30], ids=["zero-length", "ends-before-start"])
def test_meeting_must_end_after_it_starts_in_the_database(minutes):
    room = RoomFactory()
    with refused():
        Meeting.objects.create(title="Broken", starts_at=TEN, ends_at=TEN + timedelta(minutes=minutes), room=room)
    assert not Meeting.objects.exists()


def test_services_refuse_end_before_start_with_a_field_error():
    with pytest.raises(ValidationFailed) as excinfo:
        services.meeting_create(title="Broken", starts_at=TEN, ends_at=TEN)
    assert excinfo.value.field == "ends_at"


def test_services_refuse_naive_datetimes():
    with pytest.raises(ValidationFailed, match="UTC offset"):
        services.meeting_create(title="Naive", starts_at=TEN.replace(tzinfo=None), ends_at=ELEVEN.replace(tzinfo=None))


def test_service_names_the_meeting_that_holds_the_room():
    room = RoomFactory(name="Board room")
    first = services.meeting_create(title="Welcome", starts_at=NINE, ends_at=TEN, room=room)

    with pytest.raises(ScheduleConflict) as excinfo:
        services.meeting_create(title="Clash", starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN, room=room)

    error = excinfo.value
    assert error.status == 409
    assert [c["id"] for c in error.conflicts] == [first.pk]
    assert error.conflicts[0]["uid"] == first.uid
    assert "Board room" in error.conflicts[0]["reason"]
    assert "Welcome" in error.message
    assert Meeting.objects.count() == 1


def test_service_names_the_meeting_that_holds_the_host():
    host = PersonFactory(name="Dr. Brandt")
    first = services.meeting_create(title="Lab tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                    participants=[ParticipantSpec(host, R.HOST)])

    with pytest.raises(ScheduleConflict) as excinfo:
        services.meeting_create(title="Talk", starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN, room=RoomFactory(),
                                participants=[ParticipantSpec(host, R.PRESENTER)])

    assert [c["id"] for c in excinfo.value.conflicts] == [first.pk]
    assert "Dr. Brandt" in excinfo.value.conflicts[0]["reason"]


def test_rescheduling_into_a_conflict_is_refused_and_changes_nothing():
    room = RoomFactory()
    services.meeting_create(title="Welcome", starts_at=NINE, ends_at=TEN, room=room)
    later = services.meeting_create(title="Talk", starts_at=TEN, ends_at=ELEVEN, room=room)

    with pytest.raises(ScheduleConflict):
        services.meeting_reschedule(meeting=later, starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN)

    later.refresh_from_db()
    assert (later.starts_at, later.sequence) == (TEN, 0)


def test_adding_a_busy_host_is_refused_but_a_busy_guest_is_fine():
    person = PersonFactory()
    services.meeting_create(title="Lab tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                            participants=[ParticipantSpec(person, R.HOST)])
    other = services.meeting_create(title="Talk", starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN, room=RoomFactory())

    with pytest.raises(ScheduleConflict):
        services.participant_add(meeting=other, person=person, role=R.CHAIR)
    services.participant_add(meeting=other, person=person, role=R.GUEST)

    participation = Participation.objects.get(meeting=other, person=person)
    with pytest.raises(ScheduleConflict):
        services.participant_set_role(participation=participation, role=R.PRESENTER)
    assert Participation.objects.get(meeting=other, person=person).role == R.GUEST


def test_services_allow_adjacent_and_cancelled_slots():
    room, host = RoomFactory(), PersonFactory()
    first = services.meeting_create(title="Welcome", starts_at=NINE, ends_at=TEN, room=room,
                                    participants=[ParticipantSpec(host, R.CHAIR)])
    services.meeting_create(title="Next", starts_at=TEN, ends_at=ELEVEN, room=room,
                            participants=[ParticipantSpec(host, R.CHAIR)])
    services.meeting_cancel(meeting=first)
    services.meeting_create(title="Replacement", starts_at=NINE, ends_at=TEN, room=room,
                            participants=[ParticipantSpec(host, R.HOST)])
    assert Meeting.objects.filter(status=Meeting.Status.SCHEDULED).count() == 2


# --- PostgreSQL: the database refuses double bookings itself --------------------------------


def test_db_refuses_two_scheduled_meetings_in_one_room(on_postgres):
    room = RoomFactory()
    Meeting.objects.create(title="A", starts_at=NINE, ends_at=TEN, room=room)
    with refused() as excinfo:
        Meeting.objects.create(title="B", starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN, room=room)
    assert "meeting_room_no_overlap" in str(excinfo.value)


def test_db_refuses_a_raw_sql_insert_into_a_booked_room(on_postgres):
    room = RoomFactory()
    Meeting.objects.create(title="A", starts_at=NINE, ends_at=TEN, room=room)
    with refused(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_meeting (uid, sequence, title, description, starts_at, ends_at, timezone, room_id,
                                        location, online_url, kind, status, created_at, updated_at)
            VALUES ('raw@test', 0, 'Raw', '', %s, %s, 'Europe/Berlin', %s, '', '', 'meeting', 'scheduled',
                    now(), now())
            """,
            [HALF_PAST_NINE, HALF_PAST_TEN, room.pk],
        )
    assert Meeting.objects.count() == 1


def test_db_refuses_moving_a_meeting_onto_a_booked_room(on_postgres):
    room = RoomFactory()
    Meeting.objects.create(title="A", starts_at=NINE, ends_at=TEN, room=room)
    later = Meeting.objects.create(title="B", starts_at=TEN, ends_at=ELEVEN, room=room)
    with refused():
        Meeting.objects.filter(pk=later.pk).update(starts_at=HALF_PAST_NINE)


def test_db_allows_cancelled_adjacent_roomless_and_other_room(on_postgres):
    room = RoomFactory()
    Meeting.objects.create(title="A", starts_at=NINE, ends_at=TEN, room=room)
    Meeting.objects.create(title="Cancelled", starts_at=NINE, ends_at=TEN, room=room, status=Meeting.Status.CANCELLED)
    Meeting.objects.create(title="Adjacent", starts_at=TEN, ends_at=ELEVEN, room=room)
    Meeting.objects.create(title="No room", starts_at=NINE, ends_at=TEN, room=None, location="Garden")
    Meeting.objects.create(title="Other room", starts_at=NINE, ends_at=TEN, room=RoomFactory())
    assert Meeting.objects.count() == 5


def test_db_lets_a_cancelled_meeting_be_restored_only_while_the_room_is_free(on_postgres):
    room = RoomFactory()
    cancelled = Meeting.objects.create(title="Old", starts_at=NINE, ends_at=TEN, room=room,
                                       status=Meeting.Status.CANCELLED)
    Meeting.objects.create(title="New", starts_at=NINE, ends_at=TEN, room=room)
    with refused():
        Meeting.objects.filter(pk=cancelled.pk).update(status=Meeting.Status.SCHEDULED)


@pytest.mark.parametrize("role", sorted(Participation.BLOCKING_ROLES))
def test_db_refuses_one_host_in_two_overlapping_meetings(on_postgres, role):
    person = PersonFactory()
    ParticipationFactory(person=person, role=R.HOST,
                         meeting=MeetingFactory(starts_at=NINE, ends_at=TEN))
    other = MeetingFactory(starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN)
    with refused() as excinfo:
        Participation.objects.create(meeting=other, person=person, role=role, starts_at=other.starts_at,
                                     ends_at=other.ends_at, blocks_time=True)
    assert "participation_person_no_overlap" in str(excinfo.value)


def test_db_lets_guests_overlap_and_hosts_be_adjacent(on_postgres):
    person = PersonFactory()
    ParticipationFactory(person=person, role=R.HOST, meeting=MeetingFactory(starts_at=NINE, ends_at=TEN))
    ParticipationFactory(person=person, role=R.GUEST,
                         meeting=MeetingFactory(starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN))
    ParticipationFactory(person=person, role=R.CHAIR, meeting=MeetingFactory(starts_at=TEN, ends_at=ELEVEN))
    assert Participation.objects.filter(person=person).count() == 3


def test_db_lets_a_host_of_a_cancelled_meeting_be_booked(on_postgres):
    person = PersonFactory()
    first = services.meeting_create(title="First", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                    participants=[ParticipantSpec(person, R.HOST)])
    services.meeting_cancel(meeting=first)
    other = MeetingFactory(starts_at=NINE, ends_at=TEN)
    # Past the services: the constraint itself no longer counts the cancelled meeting.
    Participation.objects.create(meeting=other, person=person, role=R.HOST, starts_at=NINE, ends_at=TEN,
                                 blocks_time=True)


def test_db_refuses_a_host_when_the_copied_range_is_moved(on_postgres):
    person = PersonFactory()
    ParticipationFactory(person=person, role=R.HOST, meeting=MeetingFactory(starts_at=NINE, ends_at=TEN))
    later = ParticipationFactory(person=person, role=R.HOST, meeting=MeetingFactory(starts_at=TEN, ends_at=ELEVEN))
    with refused():
        Participation.objects.filter(pk=later.pk).update(starts_at=HALF_PAST_NINE)


def test_model_validation_tolerates_forms_without_status(on_postgres):
    room = RoomFactory()
    Meeting.objects.create(title="A", starts_at=NINE, ends_at=TEN, room=room)
    clash = Meeting(title="B", starts_at=HALF_PAST_NINE, ends_at=HALF_PAST_TEN, room=room)
    # A ModelForm that does not edit ``status`` used to crash here with FieldError (a 500 in the admin);
    # the overlap itself is reported by the services' check and refused by the database.
    clash.validate_constraints(exclude={"status"})
