"""The public request form cannot be turned against staff or third parties.

- typing a coordinator's or a scientist's address never attaches the request to their record nor
  shows their name or job title; the requester's people are new, unreviewed rows that a
  coordinator marks reviewed or merges into the existing person;
- requester text never becomes a link in mails (plain text or HTML);
- acknowledgements are limited per recipient address, not only per client;
- ``/admin/login/`` counts password guesses like ``/staff/login/``.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from core.errors import ValidationFailed
from directory.models import Person
from directory.services import person_mark_reviewed, person_merge, person_same_address
from notifications import dispatch
from notifications.models import Kind, OutboxMessage
from tests.api.conftest import fresh_client_address, visit_request_body
from tests.factories import PersonFactory, TopicFactory, UserFactory
from visits.models import Visit

pytestmark = pytest.mark.django_db

PHISH = "https://phish.example/login"


@pytest.fixture(autouse=True)
def _mail(monkeypatch, settings):
    monkeypatch.setattr("notifications.tasks.nudge_dispatcher", lambda: None)
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def director(db):
    user = UserFactory(username="director", email="director@centre.example", is_staff=True)
    return PersonFactory(name="Prof. Dr. Hidden Name", email="director@centre.example",
                         job_title="Scientific Director", user=user)


@pytest.fixture(autouse=True)
def _topic(db):
    TopicFactory(name="Stem cells", slug="stem-cells")


def submit(body) -> dict:
    response = APIClient(REMOTE_ADDR=fresh_client_address()).post("/api/v1/visit-requests/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_staff_address_in_a_request_neither_attaches_nor_reveals_the_staff_record(director):
    body = visit_request_body(1)
    body["contact"] = {"name": "Mallory", "email": "DIRECTOR@centre.example", "language": "en"}
    body["delegation"]["members"] = [{"name": "Eve", "email": "director@centre.example", "job_title": "Intern"}]
    answer = submit(body)
    visit = Visit.objects.get(reference=answer["reference"])
    assert visit.contact_id != director.pk and visit.contact.needs_review
    assert director not in visit.delegation.members.all()
    director.refresh_from_db()
    assert (director.name, director.job_title) == ("Prof. Dr. Hidden Name", "Scientific Director")

    status_page = Client().get(f"/visits/status/{visit.status_token}/").content.decode()
    status_api = APIClient().get(f"/api/v1/visit-requests/{visit.status_token}/").content.decode()
    for shown in (status_page, status_api, str(answer)):
        assert "Hidden Name" not in shown and "Scientific Director" not in shown


def test_the_same_requester_twice_is_two_unreviewed_people_until_a_coordinator_decides(db):
    first = Visit.objects.get(reference=submit(visit_request_body(2))["reference"])
    second = Visit.objects.get(reference=submit(visit_request_body(2))["reference"])
    assert first.contact_id != second.contact_id
    assert person_same_address(person=second.contact) is None  # neither is reviewed yet
    person_mark_reviewed(person=first.contact)
    assert person_same_address(person=second.contact) == first.contact
    with pytest.raises(ValidationFailed):
        person_mark_reviewed(person=second.contact)
    person_merge(source=second.contact, into=first.contact)
    second.refresh_from_db()
    assert second.contact_id == first.contact_id
    assert first.contact in second.delegation.members.all()
    assert Person.objects.filter(email__iexact=first.contact.email).count() == 1


def test_a_coordinator_merges_in_the_admin(director, client):
    body = visit_request_body(3)
    body["contact"]["email"] = director.email
    visit = Visit.objects.get(reference=submit(body)["reference"])
    director.user.is_superuser = True
    director.user.save()
    client.force_login(director.user)
    response = client.post("/admin/directory/person/", {
        "action": "merge_into_existing", "_selected_action": [visit.contact_id],
    })
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.contact_id == director.pk


def _parts(message):
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    text = next(p for p in parsed.walk() if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html").get_content()
    return text, html


def test_requester_text_is_never_a_link_in_mails(director):
    body = visit_request_body(4)
    body["delegation"]["name"] = f"Please log in at {PHISH} or www.phish.example"
    body["purpose"] = "Details: evil.example/path"
    visit = Visit.objects.get(reference=submit(body)["reference"])
    mail.outbox.clear()
    dispatch.dispatch_due()
    assert {m.to[0].split("<")[-1].rstrip(">") for m in mail.outbox} >= {"contact4@lsn.example.org", director.email}
    for message in mail.outbox:
        text, html = _parts(message)
        for part in (text, html):
            assert PHISH not in part and "www.phish.example" not in part and "evil.example/path" not in part
            assert not re.search(r"https?://phish", part)
        hrefs = re.findall(r'href="([^"]+)"', html)
        assert hrefs and all(h.startswith("http://127.0.0.1:8000/") or h.startswith("webcal://")
                             or h.startswith("mailto:") for h in hrefs), hrefs
        if "received your visit request" in message.subject:
            assert f"/visits/status/{visit.status_token}/" in text  # our own link is intact
            assert f'href="http://127.0.0.1:8000/visits/status/{visit.status_token}/"' in html


def test_acknowledgements_are_limited_per_recipient_address(director, settings):
    settings.VISITDESK_THROTTLE_ACK_ADDRESS = "3/day"
    for _ in range(5):  # five different clients, one victim's address
        body = visit_request_body(5)
        body["contact"]["email"] = "victim@third-party.example"
        submit(body)
    mail.outbox.clear()
    dispatch.dispatch_due()
    dispatch.dispatch_due()
    acks = [m for m in mail.outbox if "victim@third-party.example" in m.to[0]]
    assert len(acks) == 3
    assert OutboxMessage.objects.filter(kind=Kind.COORDINATOR_NEW_REQUEST).count() == 5  # every request still told


def test_admin_login_is_throttled_like_staff_login(settings):
    rates = dict(settings.VISITDESK_THROTTLE_RATES, login="3/minute")
    settings.VISITDESK_THROTTLE_RATES = rates
    UserFactory(username="admin", password="correct-horse-42", is_staff=True)
    ip = f"10.252.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = Client(REMOTE_ADDR=ip)
    codes = [client.post("/admin/login/", {"username": "admin", "password": f"guess{n}"}).status_code
             for n in range(3)]
    assert codes == [200, 200, 200]
    assert client.post("/admin/login/", {"username": "admin", "password": "correct-horse-42"}).status_code == 429
    # One budget: the staff sign-in is closed for this client too.
    assert client.post("/staff/login/", {"username": "admin", "password": "correct-horse-42"}).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_coordinator_reviews_and_merges_through_the_api(director):
    body = visit_request_body(6)
    body["contact"]["email"] = director.email.upper()
    visit = Visit.objects.get(reference=submit(body)["reference"])
    api = APIClient()
    api.force_authenticate(director.user)
    refused = api.post(f"/api/v1/people/{visit.contact_id}/review/")
    assert refused.status_code == 400 and "merge" in refused.json()["error"]["message"]
    merged = api.post(f"/api/v1/people/{visit.contact_id}/merge/", {"into": director.pk}, format="json")
    assert merged.status_code == 200 and merged.json()["id"] == director.pk
    visit.refresh_from_db()
    assert visit.contact_id == director.pk
    member = visit.delegation.members.exclude(pk=director.pk).first()
    reviewed = api.post(f"/api/v1/people/{member.pk}/review/")
    assert reviewed.status_code == 200 and reviewed.json()["needs_review"] is False
