"""Signed deliveries to a real local HTTP receiver, verified with the ``standardwebhooks`` verifier:
what each change owes, retries that keep the ``webhook-id``, back-off, an endpoint disabled after a
day of failures (and why), the address check at send time, secret rotation, stuck rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from events.models import Participation
from events.services import ParticipantSpec
from tests.factories import PersonFactory, RoomFactory
from visits import booking
from visits import services as visit_services
from webhooks import delivery, services
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def next_week(hour: int):
    day = timezone.localdate() + timedelta(days=7)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, hour, 0))


def endpoint_for(receiver, types=None) -> WebhookEndpoint:
    return services.endpoint_create(url=receiver.url, event_types=types or list(EventType.values))


def book(title: str = "Lab tour", visit=None, hour: int = 10):
    host, guest = PersonFactory(name="Dr. Hanna Host"), PersonFactory(name="Gina Guest")
    return booking.meeting_create(
        visit=visit, title=title, starts_at=next_week(hour), ends_at=next_week(hour + 1), room=RoomFactory(),
        participants=[ParticipantSpec(person=host, role="host"), ParticipantSpec(person=guest, role="guest")])


def verified(endpoint: WebhookEndpoint, received) -> dict:
    return Webhook(endpoint.secret).verify(received.body, received.headers)


def types_received(endpoint, receiver) -> list[str]:
    return [verified(endpoint, r)["type"] for r in receiver.snapshot()]


def test_a_booked_meeting_reaches_the_receiver_signed(receiver):
    endpoint = endpoint_for(receiver)
    meeting = book()
    assert services.observe(meeting_ids=[meeting.pk]) == 1
    assert delivery.dispatch_due()["delivered"] == 1

    [received] = receiver.snapshot()
    payload = verified(endpoint, received)
    assert payload["type"] == "meeting.created" and payload["version"] == 1
    data = payload["data"]["meeting"]
    assert (data["id"], data["uid"], data["title"], data["sequence"]) == (meeting.pk, meeting.uid, "Lab tour", 0)
    assert {(p["name"], p["role"], p["rsvp"]) for p in data["participants"]} == {
        ("Dr. Hanna Host", "host", "needs-action"), ("Gina Guest", "guest", "needs-action")}
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["Content-Type"] == "application/json"
    # The signature covers the body and the id: a changed byte or another secret does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(received.body.replace(b"Lab tour", b"Lab tout"), received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(received.body, {**received.headers, "webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(services.new_secret()).verify(received.body, received.headers)

    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.event.webhook_id == received.headers["webhook-id"]
    assert [a.status_code for a in row.attempt_log.all()] == [200]
    # Observing again (a doubled signal, beat's sweep) owes nothing more.
    assert services.observe(meeting_ids=[meeting.pk]) == 0


def test_each_change_is_its_own_event_with_what_changed(receiver):
    endpoint = endpoint_for(receiver)
    meeting = book()
    services.observe(meeting_ids=[meeting.pk])
    booking.meeting_change(meeting=meeting, changes={"title": "Lab tour and coffee"})
    services.observe(meeting_ids=[meeting.pk])
    guest = Participation.objects.get(meeting=meeting, role="guest")
    booking.meeting_answer(participation=guest, answer="accepted")
    services.observe(meeting_ids=[meeting.pk])
    booking.meeting_cancel(meeting=meeting)
    services.observe(meeting_ids=[meeting.pk])
    delivery.dispatch_due()

    payloads = [verified(endpoint, r) for r in receiver.snapshot()]
    assert [p["type"] for p in payloads] == ["meeting.created", "meeting.changed", "answer.received",
                                             "meeting.cancelled"]
    changed, answer, cancelled = payloads[1:]
    assert changed["data"]["meeting"]["title"] == "Lab tour and coffee"
    assert changed["data"]["changes"]["title"][1] == "Lab tour and coffee"
    assert changed["data"]["meeting"]["sequence"] > 0
    assert (answer["data"]["name"], answer["data"]["answer"]) == ("Gina Guest", "accepted")
    assert cancelled["data"]["meeting"]["status"] == "cancelled"
    assert len({r.headers["webhook-id"] for r in receiver.snapshot()}) == 4


def test_an_endpoint_receives_only_what_it_subscribed_to(receiver):
    only_cancellations = endpoint_for(receiver, ["meeting.cancelled"])
    meeting = book()
    assert services.observe(meeting_ids=[meeting.pk]) == 0  # nobody listens to "created": nothing recorded
    booking.meeting_cancel(meeting=meeting)
    services.observe(meeting_ids=[meeting.pk])
    delivery.dispatch_due()
    assert types_received(only_cancellations, receiver) == ["meeting.cancelled"]


def test_a_visits_workflow_and_its_programme(receiver):
    endpoint = endpoint_for(receiver)
    visit = visit_services.visit_request_submit(data=visit_services.VisitRequestInput(
        organisation_name="Visiting Org", organisation_country="DK", contact_name="Vera Visitor",
        contact_email="vera@visiting.example.org", delegation_name="Nordic cluster", delegation_size=2,
        preferred_windows=[(timezone.localdate() + timedelta(days=7), timezone.localdate() + timedelta(days=8))]))
    services.observe(visit_ids=[visit.pk])
    visit = visit_services.visit_confirm(visit=visit, starts_on=next_week(10).date())
    meeting = book(visit=visit)
    services.observe(visit_ids=[visit.pk], meeting_ids=[meeting.pk])
    visit_services.visit_programme_send(visit=visit)
    services.observe(visit_ids=[visit.pk])
    booking.meeting_reschedule(meeting=meeting, starts_at=next_week(13), ends_at=next_week(14))
    services.observe(meeting_ids=[meeting.pk])  # the programme's visit is looked at too
    visit_services.visit_cancel(visit=visit, reason="Travel ban")
    services.observe(visit_ids=[visit.pk])
    delivery.dispatch_due()

    payloads = [verified(endpoint, r) for r in receiver.snapshot()]
    assert [p["type"] for p in payloads] == [
        "visit.requested", "meeting.created", "visit.confirmed", "programme.booked", "meeting.changed",
        "programme.changed", "visit.cancelled", "programme.changed"]  # cancelling it cancelled the meetings
    booked, changed = payloads[3], payloads[5]
    assert booked["data"]["visit"]["reference"] == visit.reference
    assert [m["id"] for m in booked["data"]["meetings"]] == [meeting.pk]
    assert datetime.fromisoformat(changed["data"]["meetings"][0]["starts_at"]) == next_week(13)
    assert payloads[6]["data"]["visit"]["status"] == "cancelled"


def test_a_retry_keeps_the_webhook_id_and_backs_off(receiver):
    endpoint = endpoint_for(receiver)
    receiver.statuses = [500, 502]
    services.observe(meeting_ids=[book().pk])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert delivery.dispatch_due() == {"delivered": 0, "retry": 1, "failed": 0}
    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.due_at == start + delivery.RETRY_SCHEDULE[0]
    with time_machine.travel(start + timedelta(seconds=2), tick=False):
        assert delivery.dispatch_due()["retry"] == 0  # not due yet
    with time_machine.travel(row.due_at, tick=False):
        assert delivery.dispatch_due()["retry"] == 1
    row.refresh_from_db()
    assert row.due_at == start + delivery.RETRY_SCHEDULE[0] + delivery.RETRY_SCHEDULE[1]
    with time_machine.travel(row.due_at, tick=False):
        assert delivery.dispatch_due()["delivered"] == 1
        # Each attempt is signed anew at its own time over the same id and body: all verify.
        payloads = [verified(endpoint, r) for r in receiver.snapshot()[2:]]
    received = receiver.snapshot()
    assert len(received) == 3
    assert {r.headers["webhook-id"] for r in received} == {row.event.webhook_id}
    assert len({r.body for r in received}) == 1
    assert len({r.headers["webhook-timestamp"] for r in received}) == 3
    assert payloads[0]["type"] == "meeting.created"
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("delivered", 3)
    assert sorted(a.status_code for a in row.attempt_log.all()) == [200, 500, 502]
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None  # the success ended the run of failures


def test_an_endpoint_failing_for_a_day_is_disabled_and_says_why(receiver):
    endpoint = endpoint_for(receiver)
    receiver.default = 503
    services.observe(meeting_ids=[book().pk])
    first = timezone.now()
    seen_active = []
    row = WebhookDelivery.objects.get()
    with time_machine.travel(first, tick=False):
        delivery.dispatch_due()
    for _ in range(delivery.MAX_ATTEMPTS):
        row.refresh_from_db()
        endpoint.refresh_from_db()
        if not endpoint.is_active:
            break
        seen_active.append(row.due_at - first)
        with time_machine.travel(row.due_at, tick=False):
            delivery.dispatch_due()
    endpoint.refresh_from_db()
    row.refresh_from_db()
    assert not endpoint.is_active
    # Still enabled at every attempt less than a day after the first failure; disabled at the first one after.
    assert all(elapsed < timedelta(hours=24) for elapsed in seen_active[:-1])
    assert seen_active[-1] >= timedelta(hours=24)
    assert endpoint.disabled_at == first + seen_active[-1]
    assert "every delivery has failed since" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    assert row.attempts == len(receiver.snapshot()) == len(seen_active) + 1

    # Disabled: new events are not owed to it, waiting deliveries are not sent.
    assert services.observe(meeting_ids=[book("Another", hour=14).pk]) == 0
    WebhookDelivery.objects.filter(pk=row.pk).update(state="pending", due_at=timezone.now())
    assert delivery.dispatch_due() == {"delivered": 0, "retry": 0, "failed": 0}
    # Enabled again by a coordinator: the failure record is cleared and the waiting delivery goes out.
    receiver.default = 204
    services.endpoint_update(endpoint=endpoint, is_active=True)
    endpoint.refresh_from_db()
    assert (endpoint.disabled_reason, endpoint.failing_since) == ("", None)
    assert delivery.dispatch_due()["delivered"] == 1


def test_a_delivery_gives_up_after_its_schedule(receiver, settings):
    settings.VISITDESK_WEBHOOK_DISABLE_AFTER_HOURS = 1000  # only the delivery's own schedule counts here
    endpoint_for(receiver)
    receiver.default = 500
    services.observe(meeting_ids=[book().pk])
    row = WebhookDelivery.objects.get()
    for _ in range(delivery.MAX_ATTEMPTS):
        with time_machine.travel(row.due_at, tick=False):
            delivery.dispatch_due()
        row.refresh_from_db()
    assert (row.state, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert row.last_error.startswith(f"gave up after {delivery.MAX_ATTEMPTS} attempts: HTTP 500")
    assert services.deliveries_retry(ids=[row.pk]) == 1
    receiver.default = 200
    assert delivery.dispatch_due()["delivered"] == 1


def test_a_private_address_is_refused_when_sending_too(receiver, settings):
    endpoint = endpoint_for(receiver)
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = False  # e.g. its name now resolves inside
    services.endpoint_send_test(endpoint=endpoint)
    assert delivery.dispatch_due()["retry"] == 1
    assert receiver.snapshot() == []
    row = WebhookDelivery.objects.get()
    assert "private or local address" in row.last_error
    assert row.last_status_code is None


def test_rotation_signs_with_both_secrets_for_a_day(receiver):
    endpoint = endpoint_for(receiver)
    old = endpoint.secret
    endpoint = services.endpoint_rotate_secret(endpoint=endpoint)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    services.endpoint_send_test(endpoint=endpoint)
    delivery.dispatch_due()
    [received] = receiver.snapshot()
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(received.body, received.headers)["type"] == "webhook.test"
    assert Webhook(endpoint.secret).verify(received.body, received.headers)["data"]["endpoint"] == endpoint.pk
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        services.endpoint_send_test(endpoint=endpoint)
        delivery.dispatch_due()
        later = receiver.snapshot()[1]
        assert len(later.headers["webhook-signature"].split(" ")) == 1
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(later.body, later.headers)
        assert Webhook(endpoint.secret).verify(later.body, later.headers)


def test_a_test_event_reaches_a_disabled_endpoint(receiver):
    endpoint = services.endpoint_update(endpoint=endpoint_for(receiver), is_active=False)
    assert endpoint.disabled_reason == "Disabled by a coordinator."
    services.endpoint_send_test(endpoint=endpoint)
    assert delivery.dispatch_due()["delivered"] == 1
    assert types_received(endpoint, receiver) == ["webhook.test"]


def test_a_delivery_left_sending_by_a_dead_worker_goes_out_again_with_its_id(receiver):
    endpoint = endpoint_for(receiver)
    services.endpoint_send_test(endpoint=endpoint)
    [claimed] = delivery.claim()  # the worker dies here, before sending
    assert delivery.dispatch_due()["delivered"] == 0  # still "sending": nobody else takes it
    assert delivery.recover_stuck(older_than=timedelta(0)) == 1
    assert delivery.dispatch_due()["delivered"] == 1
    [received] = receiver.snapshot()
    assert received.headers["webhook-id"] == claimed.event.webhook_id
    assert verified(endpoint, received)["type"] == "webhook.test"


def test_beats_sweep_finds_a_change_whose_signal_was_lost(receiver):
    endpoint = endpoint_for(receiver)
    meeting = book()  # no observe: the signal was lost
    assert services.observe_recent(within=timedelta(minutes=15)) == 1
    assert services.observe_recent(within=timedelta(minutes=15)) == 0
    delivery.dispatch_due()
    assert types_received(endpoint, receiver) == ["meeting.created"]
    assert verified(endpoint, receiver.snapshot()[0])["data"]["meeting"]["id"] == meeting.pk
