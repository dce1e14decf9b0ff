"""The public booking endpoints: no account, a private token URL, throttled per client."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone as djtz
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.api.conftest import fresh_client_address, visit_request_body
from visits.models import Visit, VisitMessage

pytestmark = pytest.mark.django_db


def test_request_status_cancel_and_message(world):
    client = APIClient()
    r = client.post("/api/v1/visit-requests/", visit_request_body(5), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert set(data) == {"reference", "status", "status_url", "status_api_url"}
    assert data["status"] == "requested" and data["reference"].startswith("VIS-")
    visit = Visit.objects.get(reference=data["reference"])
    assert data["status_url"].endswith(f"/visits/status/{visit.status_token}/")
    assert data["status_api_url"].endswith(f"/api/v1/visit-requests/{visit.status_token}/")
    assert visit.delegation.members.count() == 2 and [t.slug for t in visit.topics.all()] == ["stem-cells"]

    path = data["status_api_url"].split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + path)
    assert r.status_code == 200 and r.json()["reference"] == data["reference"]
    assert r["Cache-Control"] == "no-store"
    assert "email" not in str(r.json()["delegation"])  # the requester sees names, not addresses

    r = client.post("/" + path + "messages/", {"body": "Could we come in April?"}, format="json")
    assert r.status_code == 201 and r.json()["kind"] == "reschedule"
    assert VisitMessage.objects.filter(visit=visit, from_requester=True).count() == 1

    r = client.post("/" + path + "cancel/", {"reason": "Budget"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.post("/" + path + "cancel/", {}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def test_wrong_token_is_404(world):
    client = APIClient()
    real = world.visit.status_token
    # One character off; never the character it already ends with (a random token ends in "A" once
    # in 64 runs, and then the "wrong" token was the right one).
    off_by_one = real[:-1] + ("B" if real.endswith("A") else "A")
    for token in ("nope", off_by_one, "x" * 300):
        assert client.get(f"/api/v1/visit-requests/{token}/").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["preferred_windows"].clear(), "preferred_windows"),
        (lambda b: b["contact"].update(email="not-an-email"), "contact"),
        (lambda b: b["delegation"].update(size=0), "delegation"),
        (lambda b: b["delegation"].update(size=10**30), "delegation"),
        (lambda b: b.update(topics=["no-such-topic"]), "topics"),
        (lambda b: b.update(topics=["\x00"]), "topics"),
        (lambda b: b["organisation"].update(name="Nul\x00Org"), "organisation"),
        (lambda b: b["organisation"].update(country="Germany"), "organisation"),
        (lambda b: b["preferred_windows"].append({"start": "2020-01-01", "end": "2020-01-02"}), "preferred_windows"),
        (lambda b: b["preferred_windows"][0].update(start="99999-01-01"), "preferred_windows"),
        (lambda b: b.update(purpose=["a list"]), "purpose"),
        (lambda b: b.update(delegation="not an object"), "delegation"),
        (lambda b: b.update(duration="a fortnight"), "duration"),
        (lambda b: b.update(duration=["one_day"]), "duration"),
    ],
)
def test_bad_requests_are_400_with_field_and_store_nothing(world, change, field):
    body = visit_request_body(9)
    change(body)
    before = Visit.objects.count()
    r = APIClient().post("/api/v1/visit-requests/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"]
    assert Visit.objects.count() == before


def test_more_members_than_size_is_400(world):
    body = visit_request_body(3)
    body["delegation"]["size"] = 1
    body["delegation"]["members"].append({"name": "Second", "email": "second@lsn.example.org"})
    r = APIClient().post("/api/v1/visit-requests/", body, format="json")
    assert r.status_code == 400 and "delegation.members" in r.json()["error"]["fields"]


def test_visit_requests_are_throttled_per_client(world, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"visit_request": "3/hour", "status": "1000/min"})
    client = APIClient(REMOTE_ADDR=fresh_client_address())
    codes = [client.post("/api/v1/visit-requests/", visit_request_body(100 + i), format="json").status_code
             for i in range(4)]
    assert codes == [201, 201, 201, 429]
    r = client.post("/api/v1/visit-requests/", visit_request_body(200), format="json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"
    # A spoofed X-Forwarded-For does not make a new client.
    r = client.post("/api/v1/visit-requests/", visit_request_body(201), format="json", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert r.status_code == 429
    other = APIClient(REMOTE_ADDR=fresh_client_address())
    assert other.post("/api/v1/visit-requests/", visit_request_body(202), format="json").status_code == 201


def test_coordinator_confirms_the_request(world, coordinator_client):
    r = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/confirm/", {}, format="json")
    assert r.status_code == 200, r.content
    data = r.json()
    window = world.visit.preferred_windows.first()
    assert data["status"] == "confirmed" and data["starts_on"] == window.start.isoformat()
    assert data["coordinator"]["id"] == world.coordinator_person.pk
    r = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/decline/", {}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    # The requester now sees the programme.
    status = APIClient().get(f"/api/v1/visit-requests/{world.visit.status_token}/").json()
    assert status["status"] == "confirmed" and [m["title"] for m in status["programme"]] == ["Lab tour"]


def test_confirm_with_dates_validates(world, coordinator_client):
    start = djtz.localdate() + timedelta(days=40)
    r = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/confirm/",
                                {"starts_on": start.isoformat(), "ends_on": (start - timedelta(days=1)).isoformat(),
                                 "timezone": "Mars/Olympus"}, format="json")
    assert r.status_code == 400 and "timezone" in r.json()["error"]["fields"]
    r = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/confirm/",
                                {"starts_on": start.isoformat(), "ends_on": (start - timedelta(days=1)).isoformat()},
                                format="json")
    assert r.status_code == 400 and "ends_on" in r.json()["error"]["fields"]
    assert Visit.objects.get(pk=world.visit.pk).status == "requested"


def test_visit_filters(world, coordinator_client):
    def refs(query):
        r = coordinator_client.get("/api/v1/visits/" + query)
        assert r.status_code == 200, r.content
        return {v["reference"] for v in r.json()["results"]}

    w1 = world.visit.preferred_windows.first()
    assert refs("?status=requested") == {world.visit.reference, world.other_visit.reference}
    assert refs("?status=confirmed") == set()
    assert refs(f"?from={w1.start}&to={w1.start}") == {world.visit.reference}
    assert refs(f"?organisation={world.other_visit.delegation.organisation_id}") == {world.other_visit.reference}
    world.visit.topics.add(world.topic)
    assert refs("?topic=stem-cells") == {world.visit.reference}
    assert coordinator_client.get("/api/v1/visits/?from=yesterday").status_code == 400
    assert coordinator_client.get("/api/v1/visits/?status=bogus").status_code == 400


def _next(weekday: int, weeks: int = 5):
    today = djtz.localdate()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)


@pytest.mark.parametrize(("duration", "window", "expected"), [
    # A Saturday-to-Thursday window: two days are Monday and Tuesday, one day (or half) is Monday.
    ("two_days", (5, 4), (0, 1)),
    ("one_day", (5, 4), (0, 0)),
    ("half_day", (5, 4), (0, 0)),
    # Friday to Tuesday: two days back to back are Monday and Tuesday, not Friday and Monday.
    ("two_days", (4, 4), (0, 1)),
])
def test_confirming_without_dates_takes_the_requested_length_on_working_days(
        world, coordinator_client, duration, window, expected):
    start = _next(window[0])
    end = start + timedelta(days=window[1])
    body = visit_request_body(31, duration=duration,
                              preferred_windows=[{"start": start.isoformat(), "end": end.isoformat()}])
    r = APIClient(REMOTE_ADDR=fresh_client_address()).post("/api/v1/visit-requests/", body, format="json")
    assert r.status_code == 201, r.content
    visit = Visit.objects.get(reference=r.json()["reference"])
    assert visit.duration == duration
    confirmed = coordinator_client.post(f"/api/v1/visits/{visit.pk}/confirm/", {}, format="json").json()
    starts_on, ends_on = (date.fromisoformat(confirmed[k]) for k in ("starts_on", "ends_on"))
    assert (starts_on.weekday(), ends_on.weekday()) == expected
    assert start <= starts_on <= ends_on <= end and (ends_on - starts_on).days == expected[1] - expected[0]
    assert confirmed["duration"] == duration


def test_a_request_without_a_length_is_confirmed_for_its_whole_first_window(world, coordinator_client):
    body = visit_request_body(32)
    assert "duration" not in body
    r = APIClient(REMOTE_ADDR=fresh_client_address()).post("/api/v1/visit-requests/", body, format="json")
    visit = Visit.objects.get(reference=r.json()["reference"])
    assert visit.duration == ""
    confirmed = coordinator_client.post(f"/api/v1/visits/{visit.pk}/confirm/", {}, format="json").json()
    window = body["preferred_windows"][0]
    assert (confirmed["starts_on"], confirmed["ends_on"]) == (window["start"], window["end"])


def test_proposing_for_a_visit_without_topics_asks_for_topics_first(world, coordinator_client):
    from scheduling.models import Proposal

    world.visit.topics.clear()
    r = coordinator_client.post(f"/api/v1/visits/{world.visit.pk}/proposals/", {"time_limit_seconds": 1},
                                format="json")
    assert r.status_code == 400, r.content
    assert "topics" in r.json()["error"]["fields"] and "topics" in r.json()["error"]["message"]
    assert not Proposal.objects.filter(visit=world.visit).exists()
