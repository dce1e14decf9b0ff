"""``/metrics``: refused without the token, and with it the outbox, mail, feed, import and solver figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from availability.models import ExternalCalendar
from notifications.models import Kind, OutboxMessage
from scheduling.problem import MeetingSpec, Problem, RoomSpec
from scheduling.search import solve
from tests.factories import MeetingFactory, PersonFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture
def token(settings):
    settings.VISITDESK_METRICS_TOKEN = TOKEN
    return TOKEN


def value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$" if labels else rf"^{re.escape(name)} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name}{labels} not in /metrics:\n{text[:3000]}"
    return float(match.group(1))


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def test_without_the_setting_there_is_no_metrics_page(client, settings):
    settings.VISITDESK_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_anonymous_or_wrong_tokens_are_refused(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"visitdesk_" not in response.content


def test_a_signed_in_coordinator_is_no_scraper(client, token, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "pw"))
    assert client.get("/metrics").status_code == 401


def test_outbox_depth_oldest_due_age_and_mail_counters(client, token):
    person = PersonFactory()
    now = timezone.now()

    def row(n: int, state: str, due: datetime) -> None:
        OutboxMessage.objects.create(key=f"metrics-{n}", kind=Kind.REMINDER, person=person, due_at=due, state=state)

    row(1, "pending", now - timedelta(minutes=10))  # due for 10 minutes: the oldest
    row(2, "pending", now - timedelta(minutes=1))
    row(3, "pending", now + timedelta(days=2))  # a reminder not due yet
    row(4, "sent", now - timedelta(hours=1))
    row(5, "sent", now - timedelta(hours=1))
    row(6, "sent", now - timedelta(hours=1))
    row(7, "failed", now - timedelta(hours=1))
    row(8, "sending", now - timedelta(seconds=5))

    text = scrape(client)
    assert value(text, "visitdesk_metrics_database_up") == 1
    assert value(text, "visitdesk_outbox_due") == 2
    assert value(text, "visitdesk_outbox_messages", '{state="pending"}') == 3
    assert value(text, "visitdesk_outbox_messages", '{state="sending"}') == 1
    assert 600 <= value(text, "visitdesk_outbox_oldest_due_age_seconds") < 3600
    assert value(text, "visitdesk_mails_sent_total") == 3
    assert value(text, "visitdesk_mails_failed_total") == 1
    assert "# TYPE visitdesk_mails_sent_total counter" in text

    # The dispatcher catches up: nothing due, the age drops to 0 and the counter rises.
    OutboxMessage.objects.filter(state="pending", due_at__lte=now).update(state="sent", sent_at=now)
    text = scrape(client)
    assert value(text, "visitdesk_outbox_due") == 0
    assert value(text, "visitdesk_outbox_oldest_due_age_seconds") == 0
    assert value(text, "visitdesk_mails_sent_total") == 5


def test_stale_feed_fragments_and_failing_calendar_imports(client, token):
    start = timezone.now() + timedelta(days=3)
    MeetingFactory(starts_at=start, ends_at=start + timedelta(hours=1))  # no fragment rendered yet
    person = PersonFactory()
    ExternalCalendar.objects.create(person=person, url="https://cal.example.org/a.ics")
    ExternalCalendar.objects.create(person=person, url="https://cal.example.org/b.ics", last_error="HTTP 404")

    text = scrape(client)
    assert value(text, "visitdesk_feed_fragments_stale") >= 1
    assert value(text, "visitdesk_calendar_imports") == 2
    assert value(text, "visitdesk_calendar_imports_failing") == 1


def test_solver_time_and_status_and_request_metrics(client, token):
    day = datetime(2030, 3, 5, 8, tzinfo=UTC)
    before = scrape(client)
    pattern = r'^visitdesk_solver_seconds_count\{status="optimal"\} (\S+)$'
    count_before = float(m.group(1)) if (m := re.search(pattern, before, re.MULTILINE)) else 0.0
    solution = solve(Problem(days=((day, day + timedelta(hours=8)),), rooms=(RoomSpec(1, 10, "A"),),
                             meetings=(MeetingSpec("m", "Meeting", 60, required=(1,)),), time_limit_seconds=5))
    assert solution.status == "optimal"

    text = scrape(client)
    assert value(text, "visitdesk_solver_seconds_count", '{status="optimal"}') == count_before + 1
    assert "visitdesk_solver_seconds_bucket" in text
    # django-prometheus' own request metrics are there too.
    assert "django_http_requests_latency_seconds_by_view_method" in text
