"""Every list endpoint costs the same number of queries for 10 rows as for 100."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import AgendaItem, Participation
from tests.factories import (
    DelegationFactory,
    EventFactory,
    MeetingFactory,
    OrganisationFactory,
    PersonFactory,
    RoomFactory,
    TopicFactory,
    VenueFactory,
    VisitFactory,
)
from visits.models import PreferredWindow, ProgrammeSlot

pytestmark = pytest.mark.django_db


def _meeting(i, w):
    meeting = MeetingFactory(starts_at=MeetingFactory.starts_at.function() + timedelta(days=30, hours=i))
    Participation.objects.create(meeting=meeting, person=w.host_person, role="guest",
                                 starts_at=meeting.starts_at, ends_at=meeting.ends_at)
    Participation.objects.create(meeting=meeting, person=PersonFactory(), role="host",
                                 starts_at=meeting.starts_at, ends_at=meeting.ends_at, blocks_time=True)
    AgendaItem.objects.create(meeting=meeting, title="Item", topic=w.topic, presenter=w.host_person, minutes=5)
    ProgrammeSlot.objects.create(visit=w.visit, meeting=meeting)


def _visit(i, w):
    visit = VisitFactory()
    visit.topics.add(w.topic)
    visit.delegation.members.add(PersonFactory(), PersonFactory())
    PreferredWindow.objects.create(visit=visit, start=w.visit.preferred_windows.first().start,
                                   end=w.visit.preferred_windows.first().end)


def _person(i, w):
    PersonFactory().expertise.add(w.topic)


def _delegation(i, w):
    DelegationFactory().members.add(PersonFactory())


def _event(i, w):
    event = EventFactory(venue=w.room.venue)
    event.topics.add(w.topic)
    MeetingFactory(event=event, room=None, starts_at=MeetingFactory.starts_at.function() + timedelta(days=60, hours=i))


MAKERS = {
    "organisations": lambda i, w: OrganisationFactory(),
    "people": _person,
    "topics": lambda i, w: TopicFactory(),
    "venues": lambda i, w: VenueFactory(organisation=OrganisationFactory()),
    "rooms": lambda i, w: RoomFactory(),
    "delegations": _delegation,
    "visits": _visit,
    "meetings": _meeting,
    "events": _event,
}


def _count(client, path) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path + "?page_size=200")
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("resource", sorted(MAKERS))
@pytest.mark.parametrize("role", ["coordinator", "host"])
def test_list_queries_do_not_grow_with_rows(world, resource, role):
    make = MAKERS[resource]
    client = world.client(role)
    path = f"/api/v1/{resource}/"
    for i in range(10):
        make(i, world)
    small, rows_small = _count(client, path)
    for i in range(10, 100):
        make(i, world)
    large, rows_large = _count(client, path)
    print(f"{role} {resource}: {small} queries for {rows_small} rows, {large} for {rows_large}")
    if role == "coordinator" or resource in ("meetings", "topics", "events"):
        assert rows_large >= 100
    assert small == large
