"""The change history (history/): who changed what and when, through the API, the planner's calls and the
admin, read back at /api/v1/{meetings,visits}/{id}/history/ and on the admin's history pages.

On PostgreSQL the triggers record every change with its context (the acting user, the door it came
through, the request id of its log lines). On SQLite nothing is recorded and the answer says so.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone as djtz

from availability.models import Absence
from history.models import MeetingEvent, ParticipationEvent
from tests.domain.test_admin import meeting_post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _history(client, kind: str, pk: int) -> dict:
    response = client.get(f"/api/v1/{kind}/{pk}/history/")
    assert response.status_code == 200, response.content
    return response.json()


def _admin(client):
    user = UserFactory(username="history-admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _etag(client, meeting_id: int) -> str:
    return client.get(f"/api/v1/meetings/{meeting_id}/")["ETag"]


def test_a_change_through_the_api_is_recorded_with_its_user_and_fields(on_postgres, world, coordinator_client):
    meeting = world.meeting
    old_title = meeting.title
    r = coordinator_client.patch(f"/api/v1/meetings/{meeting.pk}/", {"title": "Lab tour and coffee"}, format="json",
                                 HTTP_IF_MATCH=_etag(coordinator_client, meeting.pk))
    assert r.status_code == 200, r.content

    data = _history(coordinator_client, "meetings", meeting.pk)
    assert data["recorded"] is True
    change = next(e for e in data["entries"] if e["model"] == "meeting" and e["action"] == "changed")
    assert change["changes"]["title"] == [old_title, "Lab tour and coffee"]
    assert change["changes"]["sequence"] == [meeting.sequence, meeting.sequence + 1]
    assert change["user_id"] == world.coordinator.pk and change["username"] == world.coordinator.username
    assert change["via"] == "api" and change["url"] == f"/api/v1/meetings/{meeting.pk}/"
    assert change["request_id"]  # the id on this request's log lines
    # The event row itself, as the trigger wrote it.
    event = MeetingEvent.objects.filter(pgh_obj_id=meeting.pk, pgh_label="update").latest("pgh_id")
    assert event.title == "Lab tour and coffee" and event.pgh_context.metadata["user"] == world.coordinator.pk


def test_the_planner_calls_move_and_undo_are_recorded_with_the_previous_times(on_postgres, world, client):
    """The planner PATCHes with the session cookie, the CSRF token and If-Match; its undo is one more PATCH."""
    from django.middleware.csrf import _get_new_csrf_string

    client.force_login(world.coordinator)
    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    meeting = world.meeting
    before = (meeting.starts_at, meeting.ends_at)
    moved = {"starts_at": (before[0] + timedelta(hours=2)).isoformat(), "ends_at": (before[1] + timedelta(hours=2)).isoformat()}
    for body in (moved, {"starts_at": before[0].isoformat(), "ends_at": before[1].isoformat()}):  # move, then undo
        r = client.patch(f"/api/v1/meetings/{meeting.pk}/", body, content_type="application/json",
                         HTTP_X_CSRFTOKEN=csrf, HTTP_IF_MATCH=client.get(f"/api/v1/meetings/{meeting.pk}/")["ETag"])
        assert r.status_code == 200, r.content

    changes = [e for e in _history(client, "meetings", meeting.pk)["entries"]
               if e["model"] == "meeting" and "starts_at" in e["changes"]]
    undo, move = changes[0], changes[1]  # newest first
    assert move["changes"]["starts_at"][0] == undo["changes"]["starts_at"][1]  # undo restored the previous value
    assert move["changes"]["starts_at"][1] == undo["changes"]["starts_at"][0]
    assert {move["user_id"], undo["user_id"]} == {world.coordinator.pk} and move["via"] == undo["via"] == "api"
    # The participations' copies of the meeting's times are not tracked: a move adds no participation events.
    assert not ParticipationEvent.objects.filter(meeting_id=meeting.pk, pgh_label="update").exists()


def test_participants_and_agenda_items_appear_in_the_meeting_and_the_visit_history(on_postgres, world,
                                                                                   coordinator_client):
    meeting = world.meeting
    r = coordinator_client.patch(
        f"/api/v1/meetings/{meeting.pk}/",
        {"participants": [{"person": world.host_person.pk, "role": "chair"}, {"person": world.other_person.pk, "role": "guest"}],
         "agenda_items": [{"title": "Welcome words", "minutes": 10}]},
        format="json", HTTP_IF_MATCH=_etag(coordinator_client, meeting.pk))
    assert r.status_code == 200, r.content

    entries = _history(coordinator_client, "meetings", meeting.pk)["entries"]
    added = [e for e in entries if e["model"] == "participation" and e["action"] == "created"
             and e["changes"]["person"][1] == world.other_person.pk]
    assert added and added[0]["label"].startswith(world.other_person.name) and added[0]["user_id"] == world.coordinator.pk
    assert any(e["model"] == "agenda item" and e["changes"].get("title") == [None, "Welcome words"] for e in entries)

    visit_entries = _history(coordinator_client, "visits", world.visit.pk)["entries"]
    assert {e["model"] for e in visit_entries} >= {"visit", "meeting", "participation", "agenda item"}


def test_a_visit_workflow_change_is_in_the_visit_history(on_postgres, world, coordinator_client):
    visit = world.other_visit
    old_status = visit.status
    r = coordinator_client.post(f"/api/v1/visits/{visit.pk}/decline/", {"reason": "Fully booked"}, format="json")
    if r.status_code == 404:  # the workflow action's name
        pytest.skip("no decline action")
    assert r.status_code == 200, r.content
    change = next(e for e in _history(coordinator_client, "visits", visit.pk)["entries"]
                  if e["model"] == "visit" and "status" in e["changes"])
    assert change["changes"]["status"][0] == old_status and change["user_id"] == world.coordinator.pk


def test_a_change_in_the_admin_is_recorded_and_shown_on_its_history_page(on_postgres, world, client):
    admin_user = _admin(client)
    meeting = world.meeting
    old_title = meeting.title
    response = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                           meeting_post(meeting, title="Lab tour (admin)"))
    assert response.status_code == 302, response.content.decode()[:3000]

    change = next(e for e in _history(client, "meetings", meeting.pk)["entries"]
                  if e["model"] == "meeting" and "title" in e["changes"])
    assert change["changes"]["title"] == [old_title, "Lab tour (admin)"]
    assert change["via"] == "admin" and change["user_id"] == admin_user.pk

    page = client.get(reverse("admin:events_meeting_history", args=[meeting.pk])).content.decode()
    assert "Change history" in page and f"{old_title} → Lab tour (admin)" in page
    assert admin_user.username in page


def test_an_absence_changed_in_the_admin_shows_before_and_after(on_postgres, world, client):
    _admin(client)
    start = world.meeting.starts_at + timedelta(days=20)
    absence = Absence.objects.create(person=world.host_person, starts_at=start, ends_at=start + timedelta(days=1),
                                     reason="Conference")
    url = reverse("admin:availability_absence_change", args=[absence.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["person"] = absence.person_id
    for key in ("starts_at", "ends_at"):
        local = djtz.localtime(getattr(absence, key))
        data[f"{key}_0"], data[f"{key}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
        del data[key]
    data["reason"] = "Conference in Lund"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = client.get(reverse("admin:availability_absence_history", args=[absence.pk])).content.decode()
    assert "Conference → Conference in Lund" in page


@pytest.mark.parametrize("role", ["host", "other_host", None])
def test_only_coordinators_read_the_history(world, role):
    client = world.client(role) if role else world.client("anonymous")
    for kind, pk in (("meetings", world.meeting.pk), ("visits", world.visit.pk)):
        response = client.get(f"/api/v1/{kind}/{pk}/history/")
        assert response.status_code in ((401,) if role is None else (403,)), response.content


def test_an_unknown_id_is_404(world, coordinator_client):
    assert coordinator_client.get("/api/v1/meetings/999999/history/").status_code == 404
    assert coordinator_client.get("/api/v1/visits/999999/history/").status_code == 404


def test_the_answer_says_whether_history_is_recorded(world, coordinator_client, client):
    """The documented behaviour of each set-up: PostgreSQL records (triggers); the embedded SQLite keeps no
    history, says so in the API and the admin, and every write still works."""
    postgres = connection.vendor == "postgresql"
    r = coordinator_client.patch(f"/api/v1/meetings/{world.meeting.pk}/", {"title": "Renamed"}, format="json",
                                 HTTP_IF_MATCH=_etag(coordinator_client, world.meeting.pk))
    assert r.status_code == 200, r.content
    meeting = _history(coordinator_client, "meetings", world.meeting.pk)
    visit = _history(coordinator_client, "visits", world.visit.pk)
    assert meeting["recorded"] is postgres and visit["recorded"] is postgres
    assert bool(meeting["entries"]) is postgres and MeetingEvent.objects.exists() is postgres
    if postgres:
        assert any(e["changes"].get("title", [None, None])[1] == "Renamed" for e in meeting["entries"])
    else:
        assert meeting["entries"] == [] and visit["entries"] == []
    _admin(client)
    page = client.get(reverse("admin:events_meeting_history", args=[world.meeting.pk])).content.decode()
    assert ("recorded on PostgreSQL only" in page) is not postgres
