"""A "propose new time" from a calendar client (iTIP COUNTER) on the visit page and in the planner.

The coordinator sees who proposed what on the visit page, with Accept (the meeting moves through
``visits.booking``; everyone gets the update) and Decline (the person is owed METHOD:DECLINECOUNTER),
and the proposed time shaded in the meeting's lane of the planner. Server-rendered pages; the planner's
script only places the shade (tests/web drive the script).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import translation

from events.models import Meeting
from notifications.models import CounterProposal, Kind, OutboxMessage
from tests.support.programmes import free_time_for
from visits import booking

from .test_page import assert_csp_clean, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _counter(proposal, key="topic-cell-therapeutics", *, free=False):
    """The host of one meeting proposes the same hour a day later (the visit's second day), or with
    ``free`` a time the meeting can move to."""
    item = proposal.items.get(key=key)
    meeting = item.meeting
    host = meeting.participations.get(person_id=item.spec.host).person
    later = (free_time_for(meeting) - meeting.starts_at) if free else timedelta(days=1)
    return CounterProposal.objects.create(meeting=meeting, person=host, starts_at=meeting.starts_at + later,
                                          ends_at=meeting.ends_at + later, comment="Tuesdays are full for me",
                                          sequence=meeting.sequence)


def _section(page: str) -> str:
    return page[page.index('data-testid="counters"'):page.index('aria-labelledby="programme-heading"')]


def test_the_visit_page_lists_the_proposal_and_the_planner_shades_its_time(centre, booked):
    client, proposal = booked
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert 'data-testid="counters"' not in page and "tl-counter" not in page  # nothing proposed yet

    counter = _counter(proposal)
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert_csp_clean(page.replace('type="application/json"', 'src="data"'))
    section = _section(page)
    assert f'data-counter="{counter.pk}"' in section and counter.person.name in section
    assert "Tuesdays are full for me" in section
    assert f'action="/staff/visits/{centre.visit.pk}/counters/{counter.pk}/accept/"' in section
    assert f'action="/staff/visits/{centre.visit.pk}/counters/{counter.pk}/decline/"' in section
    # The shade: in the meeting's own lane (its room), on the proposed day, with who asked.
    shade = re.search(rf'<div class="tl-counter"[^>]*data-counter="{counter.pk}".*?</div>', page, re.S)
    assert shade, "no shaded proposal in the planner"
    lane = re.search(r'data-lane="(\d+)"', shade.group(0)).group(1)
    day = counter.starts_at.astimezone(counter.meeting.starts_at.tzinfo).date()
    grid = page[:shade.start()].rsplit("data-planner-grid", 1)[1]
    room = counter.meeting.room_id
    assert f'data-lane-head="{lane}" data-room="{room}"' in grid
    assert f"{counter.person.name} proposes “{counter.meeting.title}” here" in shade.group(0)
    assert grid.startswith(f' data-day="{day.isoformat()}"') and shade.group(0).count("<time") == 2

    # In German, in the reader's words.
    german = client.get(f"/staff/visits/{centre.visit.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Neuer Termin vorgeschlagen" in german and "Annehmen: Termin verschieben" in german


def test_accepting_moves_the_meeting_and_declining_owes_declinecounter(centre, booked):
    client, proposal = booked
    counter = _counter(proposal, free=True)
    meeting = counter.meeting
    response = client.post(f"/staff/visits/{centre.visit.pk}/counters/{counter.pk}/accept/")
    assert response.status_code == 302
    counter.refresh_from_db()
    meeting.refresh_from_db()
    assert counter.state == CounterProposal.State.ACCEPTED
    assert (meeting.starts_at, meeting.ends_at) == (counter.starts_at, counter.ends_at)
    page = client.get(response["Location"]).content.decode()
    assert "moved to the proposed time" in page and 'data-testid="counters"' not in page

    other = _counter(proposal, key="topic-stem-cell-rd")
    response = client.post(f"/staff/visits/{centre.visit.pk}/counters/{other.pk}/decline/",
                           {"comment": "The lab is booked then"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.state == CounterProposal.State.DECLINED
    owed = OutboxMessage.objects.get(key=f"declinecounter:{other.pk}")
    assert owed.kind == Kind.DECLINE_COUNTER and owed.payload["comment"] == "The lab is booked then"
    # Deciding twice changes nothing more.
    again = client.post(f"/staff/visits/{centre.visit.pk}/counters/{other.pk}/accept/", follow=True)
    other.refresh_from_db()
    assert other.state == CounterProposal.State.DECLINED and "Already decided" in again.content.decode()


def test_a_proposal_against_an_older_version_cannot_be_accepted(centre, booked):
    client, proposal = booked
    counter = _counter(proposal)
    meeting = counter.meeting
    # The coordinator edits the meeting meanwhile (a new SEQUENCE goes out): the proposal answered the old one.
    booking.meeting_change(meeting=meeting, changes={"description": "Meet at the front desk"},
                           booker=booking.COORDINATOR)
    meeting.refresh_from_db()
    assert meeting.sequence > counter.sequence
    section = _section(client.get(f"/staff/visits/{centre.visit.pk}/").content.decode())
    assert "changed after this was proposed" in section and "counter-accept" not in section
    client.post(f"/staff/visits/{centre.visit.pk}/counters/{counter.pk}/accept/")
    counter.refresh_from_db()
    moved = Meeting.objects.get(pk=meeting.pk)
    assert counter.state == CounterProposal.State.PENDING and moved.starts_at == meeting.starts_at


def test_only_the_coordinator_sees_and_decides(centre, booked):
    client, proposal = booked
    counter = _counter(proposal)
    host = logged_in(centre.host_user)
    page = host.get(f"/staff/visits/{centre.visit.pk}/")  # a host of the programme reads it, read-only
    assert page.status_code == 200
    html = page.content.decode()
    assert "tl-block" in html and 'data-testid="counters"' not in html and "tl-counter" not in html
    for action in ("accept", "decline"):
        assert host.post(f"/staff/visits/{centre.visit.pk}/counters/{counter.pk}/{action}/").status_code == 404
    # A counter to another visit's meeting is not this visit's to decide.
    assert client.post(f"/staff/visits/{centre.visit.pk + 999}/counters/{counter.pk}/accept/").status_code == 404
    assert client.get(f"/staff/visits/{centre.visit.pk}/counters/{counter.pk}/accept/").status_code == 405
    counter.refresh_from_db()
    assert counter.state == CounterProposal.State.PENDING
