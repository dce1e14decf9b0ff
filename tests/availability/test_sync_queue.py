"""Imports happen only in the worker: API, page and admin queue a sync (one per calendar at a time),
answer at once, respect a per-person cap and a per-user rate, and show a clean ``last_error``."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone as djtz
from rest_framework.test import APIClient

from api.external_calendars import CalendarSyncThrottle
from availability import services, tasks
from availability.models import ExternalCalendar
from tests.factories import PersonFactory, UserFactory

from .test_import import Server, ics

pytestmark = pytest.mark.django_db
PAGE = "/staff/availability/"


@pytest.fixture
def server(settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    settings.VISITDESK_BUSY_FETCH_TIMEOUT = 3
    srv = Server()
    soon = (djtz.now() + timedelta(days=10)).strftime("%Y%m%d")
    srv.routes["/cal.ics"] = (200, {}, ics(f"UID:a@t\nDTSTART:{soon}T100000Z\nDTEND:{soon}T110000Z"))
    yield srv
    srv.close()


@pytest.fixture
def host():
    user = UserFactory(username=f"host-{uuid.uuid4().hex[:8]}", is_staff=False)
    person = PersonFactory(user=user, timezone="Europe/Berlin")
    return user, person


@pytest.fixture
def fresh_cache(settings):
    """A key space of its own, so throttle counts start at zero whatever ran before."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"sync-{uuid.uuid4().hex}"
    settings.CACHES = caches


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_sync_answers_202_queued_and_fetches_nothing(server, host, django_capture_on_commit_callbacks):
    user, person = host
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    with django_capture_on_commit_callbacks() as queued:
        response = _api(user).post(f"/api/v1/external-calendars/{calendar.pk}/sync/")
    assert response.status_code == 202
    body = response.json()
    assert body["sync"] == "queued" and body["id"] == calendar.pk and body["url"] == server.url("/cal.ics")
    assert len(queued) == 1 and server.requests == []
    assert _api(user).get(f"/api/v1/external-calendars/{calendar.pk}/").json()["sync"] == "queued"


def test_one_sync_per_calendar_at_a_time(server, host, django_capture_on_commit_callbacks, monkeypatch):
    user, person = host
    sent: list[int] = []
    monkeypatch.setattr(tasks.sync_calendar, "apply_async", lambda args, **kw: sent.append(args[0]))
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert _api(user).post(f"/api/v1/external-calendars/{calendar.pk}/sync/").status_code == 202
    assert sent == [calendar.pk]  # the second and third request found it queued
    # beat does not queue it a second time either
    assert services.external_calendars_claim_due(now=djtz.now(), every=timedelta(minutes=30)) == []
    tasks.sync_calendar(calendar.pk)  # the worker runs it
    calendar.refresh_from_db()
    assert calendar.sync_state == "idle" and calendar.busy_count == 1 and len(server.requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _api(user).post(f"/api/v1/external-calendars/{calendar.pk}/sync/").json()["sync"] == "queued"
    assert sent == [calendar.pk, calendar.pk]


def test_a_second_task_for_a_running_sync_does_nothing_and_a_lost_claim_expires(server, host):
    _, person = host
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    now = djtz.now()
    ExternalCalendar.objects.filter(pk=calendar.pk).update(sync_queued_at=now, sync_started_at=now)
    tasks.sync_calendar(calendar.pk)
    assert server.requests == []  # the running one is left alone
    calendar.refresh_from_db()
    assert calendar.sync_state == "running"
    # a claim whose task never ran (lost message, dead worker) does not block the calendar forever
    ExternalCalendar.objects.filter(pk=calendar.pk).update(sync_queued_at=now - timedelta(hours=1),
                                                           sync_started_at=None)
    calendar.refresh_from_db()
    assert calendar.sync_state == "idle"
    assert services.external_calendar_sync_request(calendar=calendar) is True


def test_a_broker_outage_gives_the_claim_back(server, host, django_capture_on_commit_callbacks, monkeypatch):
    _, person = host

    def broker_down(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(tasks.sync_calendar, "apply_async", broker_down)
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.external_calendar_sync_request(calendar=calendar) is True
    calendar.refresh_from_db()
    assert calendar.sync_queued_at is None  # the next request or beat run can queue it


def test_adding_a_calendar_queues_its_first_sync(server, host, django_capture_on_commit_callbacks):
    user, _ = host
    with django_capture_on_commit_callbacks() as queued:
        created = _api(user).post("/api/v1/external-calendars/", {"url": server.url("/cal.ics")}, format="json")
    assert created.status_code == 201 and created.json()["sync"] == "queued"
    assert len(queued) == 1 and server.requests == []


def test_the_cap_per_person_in_the_api_the_page_and_the_admin(server, host, client, admin_client, settings):
    settings.VISITDESK_BUSY_CALENDARS_PER_PERSON = 2
    user, person = host
    for n in range(2):
        assert _api(user).post("/api/v1/external-calendars/", {"url": server.url(f"/{n}.ics")},
                               format="json").status_code == 201
    refused = _api(user).post("/api/v1/external-calendars/", {"url": server.url("/2.ics")}, format="json")
    assert refused.status_code == 400
    assert "At most 2 calendars" in str(refused.json()["error"]["fields"]["url"])
    client.force_login(user)
    page = client.post("/staff/availability/calendars/", {"url": server.url("/3.ics")})
    assert page.status_code == 400 and "At most 2 calendars" in page.content.decode()
    added = admin_client.post("/admin/availability/externalcalendar/add/",
                              {"person": person.pk, "url": server.url("/4.ics")})
    assert added.status_code == 200 and "At most 2 calendars" in added.content.decode()
    assert ExternalCalendar.objects.filter(person=person).count() == 2
    # the person's availability page in the admin: the inline counts its rows
    other = PersonFactory(timezone="Europe/Berlin")
    inline = {
        "weekly_hours-TOTAL_FORMS": "0", "weekly_hours-INITIAL_FORMS": "0",
        "hours_exceptions-TOTAL_FORMS": "0", "hours_exceptions-INITIAL_FORMS": "0",
        "absences-TOTAL_FORMS": "0", "absences-INITIAL_FORMS": "0",
        "external_calendars-TOTAL_FORMS": "3", "external_calendars-INITIAL_FORMS": "0",
        **{f"external_calendars-{n}-url": server.url(f"/x{n}.ics") for n in range(3)},
    }
    response = admin_client.post(f"/admin/availability/personavailability/{other.pk}/change/", inline)
    assert response.status_code == 200 and "At most 2 calendars" in response.content.decode()
    assert not ExternalCalendar.objects.filter(person=other).exists()
    inline["external_calendars-TOTAL_FORMS"] = "2"
    assert admin_client.post(f"/admin/availability/personavailability/{other.pk}/change/", inline).status_code == 302
    assert ExternalCalendar.objects.filter(person=other).count() == 2
    assert all(c.sync_state == "queued" for c in ExternalCalendar.objects.filter(person=other))


def test_admin_sync_now_queues_instead_of_fetching(server, admin_client):
    calendar = ExternalCalendar.objects.create(person=PersonFactory(), url=server.url("/cal.ics"))
    response = admin_client.post("/admin/availability/externalcalendar/",
                                 {"action": "sync_now", "_selected_action": [calendar.pk]}, follow=True)
    assert response.status_code == 200 and "Queued 1" in response.content.decode()
    assert server.requests == []
    calendar.refresh_from_db()
    assert calendar.sync_state == "queued"


def test_manual_syncs_are_throttled_per_user_in_the_api(server, host, fresh_cache, monkeypatch):
    monkeypatch.setattr(CalendarSyncThrottle, "THROTTLE_RATES", {"calendar_sync": "3/hour"})
    user, person = host
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    answers = [_api(user).post(f"/api/v1/external-calendars/{calendar.pk}/sync/") for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert int(answers[-1]["Retry-After"]) > 0 and answers[-1].json()["error"]["code"]
    # adding counts against the same rate; reading does not
    assert _api(user).post("/api/v1/external-calendars/", {"url": server.url("/b.ics")},
                           format="json").status_code == 429
    assert _api(user).get("/api/v1/external-calendars/").status_code == 200
    other_user = UserFactory(username=f"other-{uuid.uuid4().hex[:8]}")
    other_person = PersonFactory(user=other_user)
    theirs = ExternalCalendar.objects.create(person=other_person, url=server.url("/cal.ics"))
    assert _api(other_user).post(f"/api/v1/external-calendars/{theirs.pk}/sync/").status_code == 202


def test_manual_syncs_are_throttled_per_user_on_the_page(server, host, client, settings, fresh_cache):
    settings.VISITDESK_THROTTLE_RATES = dict(settings.VISITDESK_THROTTLE_RATES, calendar_sync="2/hour")
    user, person = host
    client.force_login(user)
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    sync = f"/staff/availability/calendars/{calendar.pk}/sync/"
    assert client.post(sync).status_code == 302
    assert client.post(sync).status_code == 302  # "already queued": a message, not an error
    throttled = client.post(sync)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert "text/html" in throttled["Content-Type"]
    assert client.post(f"/staff/availability/calendars/{calendar.pk}/remove/").status_code == 302  # not counted
    assert server.requests == []


def test_the_page_says_queued_and_then_shows_the_result(server, host, client):
    user, person = host
    client.force_login(user)
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/cal.ics"))
    answer = client.post(f"/staff/availability/calendars/{calendar.pk}/sync/", follow=True)
    assert "Sync queued" in answer.content.decode() and "sync queued" in answer.content.decode()
    again = client.post(f"/staff/availability/calendars/{calendar.pk}/sync/", follow=True)
    assert "already queued or running" in again.content.decode()
    tasks.sync_calendar(calendar.pk)
    page = client.get(PAGE).content.decode()
    assert "sync queued" not in page and "<td>never" not in page and "<td>1</td>" in page


@pytest.mark.parametrize("raw", [
    "Not an iCalendar file: \x00\x00BEGIN\x1b[31mEVIL\r\nX-INJECTED: yes",
    "x" * 5000,
    "lone surrogate \udc80 here",
    "",
])
def test_last_error_is_short_one_line_and_storable(raw, host):
    _, person = host
    calendar = ExternalCalendar.objects.create(person=person, url="https://calendar.example.org/c.ics")
    services.external_calendar_record_error(calendar=calendar, message=raw)
    calendar.refresh_from_db()  # PostgreSQL refuses NUL and lone surrogates: stored means clean
    stored = calendar.last_error
    assert stored and len(stored) <= services.LAST_ERROR_MAX_CHARS
    assert all(ch.isprintable() for ch in stored)
    assert "\r" not in stored and "\n" not in stored


def test_a_nul_in_the_body_is_a_clean_error_in_the_api_and_the_page_never_500(server, host, client):
    user, person = host
    server.routes["/nul.ics"] = (200, {}, b"BEGIN:VCALENDAR\r\n\x00\x00" + b"\x00garbage" * 100)
    calendar = ExternalCalendar.objects.create(person=person, url=server.url("/nul.ics"))
    tasks.sync_calendar(calendar.pk)
    shown = _api(user).get(f"/api/v1/external-calendars/{calendar.pk}/").json()
    assert shown["last_error"].startswith("Not an iCalendar file") and "garbage" not in shown["last_error"]
    client.force_login(user)
    assert client.post(f"/staff/availability/calendars/{calendar.pk}/sync/").status_code == 302
    assert client.get(PAGE).status_code == 200
