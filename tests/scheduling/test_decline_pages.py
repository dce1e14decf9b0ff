"""A host's decline shows on the planner's block and on the visit page, with the way to the repair.

Server-rendered pages (no browser; tests/web/test_planner.py drives the planner's script): whatever
channel the answer came through — the signed link, the staff page, a calendar client's REPLY — it is
the participation's answer, so the pages show it the same way.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from visits import booking

from .test_page import assert_csp_clean, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _block(html: str, meeting_id: int) -> str:
    match = re.search(rf'<button type="button" id="block-{meeting_id}".*?</button>', html, re.S)
    assert match, f"no block for meeting {meeting_id}"
    return match.group(0)


def test_a_hosts_decline_marks_the_block_and_the_visit_page_offers_the_repair(centre, booked):
    client, proposal = booked
    cell = proposal.items.get(key="topic-cell-therapeutics")
    host = cell.meeting.participations.get(person_id=cell.spec.host)
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert 'data-testid="declines"' not in page and 'data-answer="declined"' not in page  # nothing declined yet

    booking.meeting_answer(participation=host, answer="declined")
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert_csp_clean(page.replace('type="application/json"', 'src="data"'))
    block = _block(page, cell.meeting_id)
    repair = f"/staff/visits/{centre.visit.pk}/proposal/{proposal.pk}/repair/"
    assert "tl-block" in block and " declined" in block.split(">")[0]
    assert f'data-repair="{repair}"' in block
    assert f"Declined: {host.person.name}" in block
    # The visit page: who declined, and the button that opens the repair's preview (a POST, no change yet).
    section = page[page.index('data-testid="declines"'):page.index('aria-labelledby="programme-heading"')]
    assert f'data-meeting="{cell.meeting_id}"' in section and f"{host.person.name} declined." in section
    assert f'action="{repair}"' in section and "Preview the repair" in section
    # Other blocks carry no decline.
    others = [i for i in proposal.items.exclude(pk=cell.pk) if i.meeting_id]
    assert all('data-answer="declined"' not in _block(page, i.meeting_id) for i in others)

    # In German: the same, in the reader's words.
    german = client.get(f"/staff/visits/{centre.visit.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"Abgesagt: {host.person.name}" in _block(german, cell.meeting_id)
    assert "Einem Termin fehlt jemand, den er braucht" in german and "Reparatur ansehen…" in german

    # The button works: the preview is shown on the proposal page with its confirm button.
    preview = client.post(repair)
    html = client.get(preview["Location"]).content.decode()
    assert 'data-testid="repair-plan" data-applied="no"' in html and "Confirm the repair" in html


def test_maybe_is_quiet_and_a_guests_decline_needs_no_repair(centre, booked):
    client, proposal = booked
    cell = proposal.items.get(key="topic-cell-therapeutics")
    member = cell.meeting.participations.filter(blocks_time=True).exclude(person_id=cell.spec.host).first()
    booking.meeting_answer(participation=member, answer="tentative")
    guest = cell.meeting.participations.filter(blocks_time=False).first()
    if guest is not None:
        booking.meeting_answer(participation=guest, answer="declined")
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    block = _block(page, cell.meeting_id)
    assert "awaiting" in block.split(">")[0] and "declined" not in block.split(">")[0]
    assert f"Maybe: {member.person.name}" in block and "data-repair" not in block
    if guest is not None:
        assert f"Guest declined: {guest.person.name}" in block
    assert 'data-testid="declines"' not in page
    # No answer yet: said (to screen readers) of the hosts, never of the delegation, who hear by programme mail.
    welcome = proposal.items.get(key="welcome")
    waiting = re.search(r'data-answer="waiting">([^<]*)<', _block(page, welcome.meeting_id)).group(1)
    assert "Carla Coordinator" in waiting and "Anna Berg" not in waiting and "Jens Holm" not in waiting


def test_a_host_sees_no_answers_and_a_hand_booked_meeting_says_where_to_act(centre, booked):
    from datetime import timedelta

    from events.services import ParticipantSpec

    client, _proposal = booked
    start = centre.at(1, 16)
    hand = booking.meeting_create(visit=centre.visit, title="Extra lab visit", starts_at=start,
                                  ends_at=start + timedelta(minutes=30), room=centre.office,
                                  participants=[ParticipantSpec(centre.ben, "host")], override=True,
                                  booker=booking.COORDINATOR)
    booking.meeting_answer(participation=hand.participations.get(person=centre.ben), answer="declined")
    page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert "Declined: Dr. Ben Ott" in _block(page, hand.pk) and "data-repair" not in _block(page, hand.pk)
    assert "Booked by hand, so there is no proposal to repair" in page
    # The person's day shows the same marker.
    day = client.get(f"/staff/people/{centre.ben.pk}/day/{(centre.tuesday + timedelta(days=1)).isoformat()}/")
    assert "Declined: Dr. Ben Ott" in day.content.decode()
    # A host's read-only view shows the programme, not who declined.
    host_view = logged_in(centre.host_user).get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert 'data-answer=' not in host_view and 'data-testid="declines"' not in host_view
