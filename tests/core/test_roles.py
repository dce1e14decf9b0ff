"""Every role, walked through every door: API, pages, calendar files and the "new request" mails.

One definition (``core.roles``) means one answer everywhere: a member of the "coordinators" group,
a staff user and a superuser are all coordinators — they see every visit in the API and on
``/staff/``, open private meeting files and receive "new request" mails — while a host sees only
their own programme and everyone else only public things.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.roles import coordinator_users, is_coordinator, person_for_user
from events.services import ParticipantSpec
from notifications import dispatch
from tests.factories import PersonFactory, RoomFactory, UserFactory
from visits import booking
from visits import services as visit_services

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "requester", "host", "group_member", "staff", "superuser"]
COORDINATORS = {"group_member", "staff", "superuser"}


@pytest.fixture(autouse=True)
def _quiet_mail(monkeypatch, settings):
    monkeypatch.setattr("notifications.tasks.nudge_dispatcher", lambda: None)
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _request(name: str, email: str):
    first = timezone.localdate() + timedelta(days=20)
    return visit_services.visit_request_submit(
        data=visit_services.VisitRequestInput(
            organisation_name=f"{name} org", organisation_country="DE", contact_name=f"{name} contact",
            contact_email=email, delegation_name=f"{name} delegation", delegation_size=2,
            preferred_windows=[(first, first + timedelta(days=1))],
        )
    )


@pytest.fixture
def world():
    users = {
        "host": UserFactory(username="host", is_staff=False, email="host@centre.example"),
        "group_member": UserFactory(username="groupie", is_staff=False, email="groupie@centre.example"),
        "staff": UserFactory(username="staffer", is_staff=True, email="staffer@centre.example"),
        # A superuser without staff status and without a Person: still a coordinator, still mailed.
        "superuser": UserFactory(username="root", is_staff=False, is_superuser=True, email="root@centre.example"),
    }
    users["group_member"].groups.add(Group.objects.get_or_create(name="coordinators")[0])
    people = {
        role: PersonFactory(name=f"{role} person", email=users[role].email, user=users[role])
        for role in ("host", "group_member", "staff")
    }
    own = _request("Own", "own@visitor.example")
    other = _request("Other", "other@visitor.example")
    start = datetime.combine(timezone.localdate() + timedelta(days=21), datetime.min.time()).replace(
        hour=10, tzinfo=timezone.get_current_timezone())
    meeting = booking.meeting_create(
        visit=own, title="Lab tour", starts_at=start, ends_at=start + timedelta(hours=1), room=RoomFactory(),
        participants=[ParticipantSpec(people["host"], "chair")],
    )
    return {"users": users, "people": people, "own": own, "other": other, "meeting": meeting}


def _api(world, role) -> APIClient:
    client = APIClient()
    if role in world["users"]:
        client.force_authenticate(world["users"][role])
    return client


def _page_client(world, role) -> Client:
    client = Client()
    if role in world["users"]:
        client.force_login(world["users"][role])
    return client


def test_one_definition_of_coordinator():
    assert not is_coordinator(AnonymousUser())
    assert person_for_user(AnonymousUser()) is None
    inactive = UserFactory(username="gone", is_staff=True, is_active=False)
    assert not is_coordinator(inactive)
    assert inactive not in coordinator_users()


@pytest.mark.parametrize("role", ROLES)
def test_api_visits(world, role):
    response = _api(world, role).get("/api/v1/visits/")
    if role in ("anonymous", "requester"):
        assert response.status_code == 401
        return
    seen = {v["reference"] for v in response.json()["results"]}
    if role in COORDINATORS:
        assert seen == {world["own"].reference, world["other"].reference}
    else:
        assert seen == {world["own"].reference}
    confirm = _api(world, role).post(f"/api/v1/visits/{world['other'].pk}/decline/", {"reason": "Full"},
                                     format="json")
    assert confirm.status_code == (200 if role in COORDINATORS else 404)


@pytest.mark.parametrize("role", ROLES)
def test_staff_pages(world, role):
    client = _page_client(world, role)
    listing = client.get("/staff/")
    if role in ("anonymous", "requester"):
        assert listing.status_code == 302 and "/staff/login/" in listing["Location"]
        return
    body = listing.content.decode()
    assert world["own"].reference in body
    assert (world["other"].reference in body) is (role in COORDINATORS)
    detail = client.get(f"/staff/visits/{world['other'].pk}/")
    assert detail.status_code == (200 if role in COORDINATORS else 404)


@pytest.mark.parametrize("role", ROLES)
def test_private_meeting_file(world, role):
    response = _page_client(world, role).get(f"/calendars/meetings/{world['meeting'].pk}.ics")
    allowed = role in COORDINATORS or role == "host"
    assert response.status_code == (200 if allowed else 404)


def test_requester_reaches_only_their_status_page(world):
    client = Client()
    assert client.get(f"/visits/status/{world['own'].status_token}/").status_code == 200
    assert client.get("/api/v1/visits/").status_code == 401


def test_new_request_mails_reach_every_coordinator_and_nobody_else(world):
    mail.outbox.clear()
    dispatch.dispatch_due()
    told = {m.to[0].split("<")[-1].rstrip(">") for m in mail.outbox if "new visit request" in m.subject.lower()}
    assert told == {world["users"][role].email for role in COORDINATORS}
