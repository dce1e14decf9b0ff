"""One booking module, one set of rules: where the old copies disagreed, the stricter rule now holds
everywhere (API create, API update, the admin, batch booking).

Before ``visits.booking``, creating a programme meeting through the API checked the availability of
hosts, chairs and presenters only, while updating it (and saving it in the admin) also checked the
delegation; the service accepted zone names ("Factory", "localtime") that ``core.timezones`` refuses.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from availability import services as availability_services
from core.errors import NotAllowed, ValidationFailed
from events.models import Meeting, Participation
from tests.api.conftest import next_week
from tests.domain.test_admin import meeting_post
from visits import booking

pytestmark = pytest.mark.django_db


def _absent(person, hours: int = 10):
    availability_services.absence_create(person=person, starts_at=next_week(hours),
                                         ends_at=next_week(hours) + timedelta(hours=2), reason="Conference")


def _body(world, **extra):
    return {"title": "Cell therapy round table", "starts_at": next_week(16).isoformat(),
            "ends_at": next_week(17).isoformat(), "visit": world.visit.pk,
            "participants": [{"person": world.host_person.pk, "role": "host"},
                             {"person": world.visit.contact.pk, "role": "guest"}], **extra}


def test_api_create_checks_the_delegation_like_update_does(world, coordinator_client):
    _absent(world.visit.contact, hours=16)

    created = coordinator_client.post("/api/v1/meetings/", _body(world), format="json")

    assert created.status_code == 409, created.content
    error = created.json()["error"]
    assert error["code"] == "availability_conflict"
    assert [u["person"] for u in error["unavailable"]] == [world.visit.contact.pk]
    assert not Meeting.objects.filter(title="Cell therapy round table").exists()

    # ...and the update path gives the same answer for the same person at the same time.
    moved = coordinator_client.post(f"/api/v1/meetings/{world.meeting.pk}/reschedule/",
                                    {"starts_at": next_week(16).isoformat(), "ends_at": next_week(17).isoformat()},
                                    format="json")
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "availability_conflict"


def test_a_coordinator_books_against_the_delegations_absence_and_it_is_recorded(world, coordinator_client):
    _absent(world.visit.contact, hours=16)

    created = coordinator_client.post("/api/v1/meetings/", _body(world, override_availability=True), format="json")

    assert created.status_code == 201, created.content
    assert Meeting.objects.get(pk=created.json()["id"]).booked_against_availability is True


def test_a_guest_outside_the_delegation_does_not_block(world, coordinator_client):
    """Only the one list blocks: an ordinary guest who is away is simply invited."""
    outsider = world.other_person
    _absent(outsider, hours=16)
    body = _body(world)
    body["participants"].append({"person": outsider.pk, "role": "guest"})

    assert coordinator_client.post("/api/v1/meetings/", body, format="json").status_code == 201


def test_the_admin_refuses_the_same_booking_the_api_refuses(world, client):
    _absent(world.visit.contact, hours=16)
    world.coordinator.is_superuser = True  # the admin asks for model permissions
    world.coordinator.save()
    client.force_login(world.coordinator)
    post = meeting_post(starts_at=next_week(16), ends_at=next_week(17),
                        participants=[(world.host_person, Participation.Role.HOST),
                                      (world.visit.contact, Participation.Role.GUEST)])
    post["visit"] = str(world.visit.pk)

    response = client.post(reverse("admin:events_meeting_add"), post)

    assert response.status_code == 200 and "is absent" in response.content.decode()
    assert not Meeting.objects.filter(starts_at=next_week(16)).exists()


def test_only_coordinators_may_book_against_availability(world):
    with pytest.raises(NotAllowed):
        booking.meeting_create(visit=world.visit, title="Sneaky", starts_at=next_week(16), ends_at=next_week(17),
                               override=True, booker=booking.Booker(coordinator=False))
    assert not Meeting.objects.filter(title="Sneaky").exists()


@pytest.mark.parametrize("zone", ["Factory", "localtime", "posixrules", "Mars/Olympus"])
def test_the_service_refuses_zone_names_the_api_refuses(world, zone):
    with pytest.raises(ValidationFailed) as refused:
        booking.meeting_create(title="Zoned", starts_at=next_week(16), ends_at=next_week(17), timezone=zone)
    assert refused.value.field == "timezone"


def test_a_closed_programme_refuses_new_meetings_from_every_path(world, coordinator_client):
    from visits import services as visit_services

    visit_services.visit_decline(visit=world.visit, reason="No capacity")

    refused = coordinator_client.post("/api/v1/meetings/", _body(world), format="json")

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
    assert not booking.programme_is_open(world.visit.__class__.objects.get(pk=world.visit.pk))
