"""/api/v1/webhooks/: coordinators register, read, change and delete endpoints, read the delivery log,
send a test event and rotate the secret; nobody else may; bad input is a 400 naming the field."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from tests.webhooks.receiver import start_receiver
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks"  # an address literal: no DNS lookup in tests


@pytest.fixture
def receiver(settings):
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def create(client, **body):
    return client.post("/api/v1/webhooks/", {"url": PUBLIC, "event_types": ["meeting.created"], **body}, format="json")


def test_register_read_change_and_delete(world):
    api = world.client("coordinator")
    created = create(api, description="Reception badge printer",
                     event_types=["meeting.created", "meeting.changed", "visit.confirmed"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["event_types"] == ["meeting.created", "meeting.changed", "visit.confirmed"]
    assert body["is_active"] is True
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.secret == body["secret"] and endpoint.created_by == world.coordinator

    # The secret is shown once: never in a read, a list or a change.
    read = api.get(f"/api/v1/webhooks/{endpoint.pk}/").json()
    assert "secret" not in read and read["description"] == "Reception badge printer"
    assert all("secret" not in e for e in api.get("/api/v1/webhooks/").json()["results"])
    changed = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"event_types": ["answer.received"], "is_active": False},
                        format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["event_types"], changed.json()["is_active"]) == (["answer.received"], False)
    assert changed.json()["disabled_reason"] == "Disabled by a coordinator." and "secret" not in changed.json()
    enabled = api.patch(f"/api/v1/webhooks/{endpoint.pk}/", {"is_active": True}, format="json").json()
    assert (enabled["is_active"], enabled["disabled_reason"], enabled["disabled_at"]) == (True, "", None)

    rotated = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/", {}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (body["secret"], "") and rotated.json()["previous_secret_until"]

    assert api.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_send_a_test_event_and_read_the_delivery_log(world, receiver):
    api = world.client("coordinator")
    receiver.statuses = [500]
    created = create(api, url=receiver.url).json()
    queued = api.post(f"/api/v1/webhooks/{created['id']}/test/", {}, format="json")
    assert queued.status_code == 202, queued.content
    assert (queued.json()["event_type"], queued.json()["state"]) == ("webhook.test", "pending")
    delivery.dispatch_due()  # the worker's part (tests/integration runs the real worker)
    WebhookDelivery.objects.update(due_at=queued.json()["due_at"])
    delivery.dispatch_due()

    log = api.get(f"/api/v1/webhooks/{created['id']}/deliveries/")
    assert log.status_code == 200
    [row] = log.json()["results"]
    assert (row["state"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 200)
    assert [a["status_code"] for a in row["attempt_log"]] == [200, 500]  # newest first
    assert row["payload"]["type"] == "webhook.test" and row["payload"]["data"]["endpoint"] == created["id"]
    assert {r.headers["webhook-id"] for r in receiver.snapshot()} == {row["webhook_id"]}
    assert Webhook(created["secret"]).verify(receiver.snapshot()[-1].body, receiver.snapshot()[-1].headers)


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://93.184.215.14/x"}, "url"),
    ({"url": "https://user:pw@93.184.215.14/x"}, "url"),
    ({"url": "http://127.0.0.1:8000/hooks"}, "url"),
    ({"url": "http://10.1.2.3/hooks"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "http://[::1]/hooks"}, "url"),
    ({"url": "http://[::ffff:127.0.0.1]/hooks"}, "url"),
    ({"url": "https://93.184.215.14:99999/hooks"}, "url"),
    ({"url": ""}, "url"),
    ({"event_types": ["meeting.exploded"]}, "event_types"),
    ({"event_types": []}, "event_types"),
    ({"event_types": "meeting.created"}, "event_types"),
    ({"event_types": ["webhook.test"]}, "event_types"),
])
def test_bad_input_is_a_400_naming_the_field(world, body, field):
    answer = create(world.client("coordinator"), **body)
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert field in error["fields"], error
    assert not WebhookEndpoint.objects.exists()


def test_a_private_address_is_refused_when_changing_the_url_too(world):
    api = world.client("coordinator")
    endpoint = create(api).json()
    answer = api.patch(f"/api/v1/webhooks/{endpoint['id']}/", {"url": "http://192.168.0.10/x"}, format="json")
    assert answer.status_code == 400
    assert "private or local address" in answer.json()["error"]["fields"]["url"][0]
    assert WebhookEndpoint.objects.get().url == PUBLIC


ROUTES = [
    ("get", "/api/v1/webhooks/{id}/", 200),
    ("patch", "/api/v1/webhooks/{id}/", 200),
    ("get", "/api/v1/webhooks/{id}/deliveries/", 200),
    ("post", "/api/v1/webhooks/{id}/test/", 202),
    ("post", "/api/v1/webhooks/{id}/rotate-secret/", 200),
    ("delete", "/api/v1/webhooks/{id}/", 204),
]


@pytest.mark.parametrize(("method", "path", "ok"), ROUTES)
@pytest.mark.parametrize(("role", "refused"), [("host", 403), ("other_host", 403), ("anonymous", 401)])
def test_only_coordinators_reach_an_endpoint(world, method, path, ok, role, refused):
    endpoint = create(world.client("coordinator")).json()
    url = path.format(id=endpoint["id"])
    body = {"description": "x"} if method == "patch" else {}
    answer = getattr(world.client(role), method)(url, body, format="json")
    assert answer.status_code == refused, answer.content
    assert set(answer.json()) == {"error"}
    assert WebhookEndpoint.objects.get().description == ""  # nothing changed
    assert getattr(world.client("coordinator"), method)(url, body, format="json").status_code == ok


def test_an_unknown_endpoint_is_a_404_for_coordinators(world):
    assert world.client("coordinator").get("/api/v1/webhooks/424242/deliveries/").status_code == 404


def test_the_schema_names_every_payload():
    import yaml
    from rest_framework.test import APIClient

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    components = schema["components"]["schemas"]
    mapping = components["WebhookPayload"]["discriminator"]["mapping"]
    assert set(mapping) == {"visit.requested", "visit.confirmed", "visit.cancelled", "programme.booked",
                            "programme.changed", "meeting.created", "meeting.changed", "meeting.cancelled",
                            "answer.received", "webhook.test"}
    changed = components["MeetingChangedEvent"]["properties"]
    assert set(changed) == {"type", "version", "timestamp", "data"}
    assert "/api/v1/webhooks/{id}/deliveries/" in schema["paths"]
    assert "secret" in components["WebhookEndpointCreated"]["properties"]
    assert "secret" not in components["WebhookEndpoint"]["properties"]


def test_writes_are_throttled_per_user(world, monkeypatch):
    from api.webhooks import WebhookWriteThrottle

    monkeypatch.setattr(WebhookWriteThrottle, "THROTTLE_RATES", {"webhooks": "2/min"})
    api = world.client("coordinator")
    answers = [create(api, description=f"n{i}").status_code for i in range(3)]
    assert answers[2] == 429 and set(answers[:2]) <= {201, 429}  # earlier runs may share the count
    assert api.get("/api/v1/webhooks/").status_code == 200  # reads are not counted
