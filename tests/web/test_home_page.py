"""The home page: what the public sees and subscribes to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Meeting
from tests.factories import EventFactory, MeetingFactory


@pytest.mark.django_db
def test_home_lists_upcoming_public_events_only(client, django_assert_max_num_queries):
    now = timezone.now()
    soon = EventFactory(title="Stem Cell Info Day")
    MeetingFactory(event=soon, title="Stem cells explained", starts_at=now + timedelta(days=3),
                   ends_at=now + timedelta(days=3, hours=1))
    later = EventFactory(title="EU funding workshop")
    MeetingFactory(event=later, title="Building a consortium", starts_at=now + timedelta(days=9),
                   ends_at=now + timedelta(days=9, hours=3))
    past = EventFactory(title="Last year's conference")
    MeetingFactory(event=past, starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=30, hours=-2))
    private = EventFactory(title="Internal retreat", is_public=False)
    MeetingFactory(event=private, starts_at=now + timedelta(days=5), ends_at=now + timedelta(days=5, hours=1))
    called_off = EventFactory(title="Called-off lecture")
    MeetingFactory(event=called_off, starts_at=now + timedelta(days=4), ends_at=now + timedelta(days=4, hours=1),
                   status=Meeting.Status.CANCELLED)

    with django_assert_max_num_queries(6):
        body = client.get("/").content.decode()
    assert "Stem Cell Info Day" in body and "Stems cells explained" not in body
    assert "Stem cells explained" in body
    assert body.index("Stem Cell Info Day") < body.index("EU funding workshop")
    for hidden in ("Last year's conference", "Internal retreat", "Called-off lecture"):
        assert hidden not in body


@pytest.mark.django_db
def test_home_offers_the_public_calendar_three_ways_and_a_language_switch(client):
    body = client.get("/").content.decode()
    assert 'href="webcal://' in body and "/calendars/public.ics" in body
    assert "calendar.google.com/calendar/render?cid=webcal" in body
    assert "outlook.live.com/calendar/0/addfromweb?url=http" in body
    assert 'action="/i18n/setlang/"' in body


@pytest.mark.django_db
def test_switching_language_sets_it_for_the_next_pages(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/visits/request/"})
    assert response.status_code == 302 and response["Location"] == "/visits/request/"
    assert "Besuch anfragen" in client.get("/visits/request/").content.decode()
