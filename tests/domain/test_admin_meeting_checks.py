"""The one Meeting admin asks the services' checks before writing: overlap and availability.

The overlap rule is ``events.services.meeting_overlap_check`` and availability is
``availability.services.meeting_availability_check`` — the same calls as the API's meeting paths —
so a coordinator in the admin meets the same answers, and an override is recorded the same way.
"""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from events.models import Meeting, Participation
from tests.availability.conftest import office_hours
from tests.domain.test_admin import ELEVEN, NINE, TEN, coordinator, errors_of, meeting_post  # noqa: F401
from tests.factories import PersonFactory, RoomFactory

pytestmark = pytest.mark.django_db
R = Participation.Role


def test_a_host_outside_working_hours_is_refused_with_the_reason(client, coordinator):  # noqa: F811
    host = PersonFactory(name="Dr. Late Starter", timezone="Europe/Berlin")
    office_hours(host, start=time(12), end=time(17))

    response = client.post(reverse("admin:events_meeting_add"),
                           meeting_post(room=RoomFactory(), participants=[(host, R.HOST)]))

    assert "Dr. Late Starter" in errors_of(response)
    assert not Meeting.objects.exists()


def test_the_override_box_books_and_records_it(client, coordinator):  # noqa: F811
    host = PersonFactory(timezone="Europe/Berlin")
    office_hours(host, start=time(12), end=time(17))

    response = client.post(reverse("admin:events_meeting_add"), {
        **meeting_post(room=RoomFactory(), participants=[(host, R.HOST)]), "override_availability": "on",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Meeting.objects.get().booked_against_availability is True


def test_saving_an_unchanged_meeting_does_not_ask_again(client, coordinator):  # noqa: F811
    from events import services as event_services
    from events.services import ParticipantSpec

    host = PersonFactory(timezone="Europe/Berlin")
    meeting = event_services.meeting_create(title="Tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                            participants=[ParticipantSpec(host, R.HOST)])
    office_hours(host, start=time(12), end=time(17))  # hours set after the booking

    response = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                           meeting_post(meeting, title="Tour (renamed)"))

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "Tour (renamed)"

    moved = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                        meeting_post(meeting, starts_at=TEN, ends_at=ELEVEN))
    assert "errorlist" in moved.content.decode()  # a move asks again: 10:00 is still outside 12–17
