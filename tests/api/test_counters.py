"""``/api/v1/counter-proposals/`` and ``/api/v1/held-answers/``: coordinators decide on answers from
calendar clients; everyone else is refused; bad input is a 4xx, a decision taken twice a 409."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events.models import Participation
from notifications.models import CounterProposal, HeldAnswer, Kind, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter(world):
    return CounterProposal.objects.create(
        meeting=world.meeting, person=world.host_person, starts_at=world.meeting.starts_at + timedelta(hours=2),
        ends_at=world.meeting.ends_at + timedelta(hours=2), comment="Later, please", sequence=world.meeting.sequence)


@pytest.fixture
def held(world):
    return HeldAnswer.objects.create(meeting=world.meeting, person=world.host_person, kind="answer",
                                     answer="declined", sender="mallory@evil.example", reason="sent from elsewhere")


def test_coordinators_list_counter_proposals_of_a_visit(world, counter, coordinator_client):
    body = coordinator_client.get(f"/api/v1/counter-proposals/?visit={world.visit.pk}").json()
    assert [c["id"] for c in body["results"]] == [counter.pk]
    item = body["results"][0]
    assert item["person_email"] == world.host_person.email and item["current"] is True
    assert coordinator_client.get(f"/api/v1/counter-proposals/?visit={world.other_visit.pk}").json()["results"] == []


@pytest.mark.parametrize("role", ["host", "anonymous"])
def test_others_may_not_see_or_decide(world, counter, role):
    client = world.client(role)
    assert client.get("/api/v1/counter-proposals/").status_code in (401, 403)
    assert client.post(f"/api/v1/counter-proposals/{counter.pk}/accept/", {}, format="json").status_code in (401, 403)
    counter.refresh_from_db()
    assert counter.state == "pending"


def test_accepting_moves_the_meeting(world, counter, coordinator_client):
    response = coordinator_client.post(f"/api/v1/counter-proposals/{counter.pk}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted"
    world.meeting.refresh_from_db()
    assert world.meeting.starts_at == counter.starts_at and world.meeting.sequence == 1
    again = coordinator_client.post(f"/api/v1/counter-proposals/{counter.pk}/decline/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"


def test_declining_owes_a_declinecounter(world, counter, coordinator_client):
    response = coordinator_client.post(f"/api/v1/counter-proposals/{counter.pk}/decline/",
                                       {"comment": "The lab is booked then."}, format="json")
    assert response.status_code == 200, response.content
    row = OutboxMessage.objects.get(kind=Kind.DECLINE_COUNTER)
    assert row.person == world.host_person and row.payload["comment"] == "The lab is booked then."
    world.meeting.refresh_from_db()
    assert world.meeting.sequence == 0


def test_a_proposal_against_an_older_sequence_is_refused(world, counter, coordinator_client):
    coordinator_client.post(f"/api/v1/meetings/{world.meeting.pk}/reschedule/", {
        "starts_at": (world.meeting.starts_at + timedelta(days=1)).isoformat(),
        "ends_at": (world.meeting.ends_at + timedelta(days=1)).isoformat()}, format="json")
    response = coordinator_client.post(f"/api/v1/counter-proposals/{counter.pk}/accept/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "meeting_changed"


@pytest.mark.parametrize("query", ["?visit=abc", "?meeting=-1", "?state=maybe", "?visit=99999999999999"])
def test_bad_filters_answer_400(world, coordinator_client, query):
    response = coordinator_client.get(f"/api/v1/counter-proposals/{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_bad_decline_body_answers_400(world, counter, coordinator_client):
    response = coordinator_client.post(f"/api/v1/counter-proposals/{counter.pk}/decline/", {"comment": "x" * 2000},
                                       format="json")
    assert response.status_code == 400 and "comment" in response.json()["error"]["fields"]
    assert CounterProposal.objects.get(pk=counter.pk).state == "pending"


def test_confirming_a_held_answer_records_it(world, held, coordinator_client):
    listed = coordinator_client.get("/api/v1/held-answers/?state=pending").json()["results"]
    assert [h["id"] for h in listed] == [held.pk]
    response = coordinator_client.post(f"/api/v1/held-answers/{held.pk}/confirm/", format="json")
    assert response.status_code == 200 and response.json()["state"] == "confirmed"
    assert Participation.objects.get(meeting=world.meeting, person=world.host_person).rsvp == "declined"


def test_rejecting_a_held_answer_changes_nothing(world, held, coordinator_client):
    response = coordinator_client.post(f"/api/v1/held-answers/{held.pk}/reject/", format="json")
    assert response.status_code == 200 and response.json()["state"] == "rejected"
    assert Participation.objects.get(meeting=world.meeting, person=world.host_person).rsvp == "needs-action"
    assert coordinator_client.post(f"/api/v1/held-answers/{held.pk}/confirm/", format="json").status_code == 409


def test_unknown_ids_answer_404(world, coordinator_client):
    assert coordinator_client.post("/api/v1/counter-proposals/999999/accept/", {}, format="json").status_code == 404
    assert coordinator_client.get("/api/v1/held-answers/999999/").status_code == 404
