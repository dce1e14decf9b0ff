"""A host's decline in a real browser (Debian's Chromium, Playwright, a live server): the planner's block
says who declined, the visit page lists it with the repair button, and the side panel's button opens the
repair's preview on the proposal page (nothing changes until it is confirmed). Strict CSP throughout.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from events.models import Meeting
from scheduling import services as scheduling_services
from scheduling.models import Proposal
from tests.scheduling.conftest import centre  # noqa: F401 (the fixture)
from tests.support.programmes import free_time_for
from visits import booking

from .test_browser import axe_violations, shot, sign_in
from .test_planner import browser, new_page  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server, settings):  # noqa: F811
    settings.SITE_URL = live_server.url
    context, page = new_page(browser, live_server)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.csp_violations = violations
    yield page
    context.close()


def test_a_declined_host_is_marked_and_the_repair_preview_is_one_click_away(page, centre):  # noqa: F811
    centre.coordinator.set_password("coord-pass-1234")
    centre.coordinator.save()
    proposal = scheduling_services.proposal_create(visit=centre.visit, by=centre.coordinator_person,
                                                   time_limit_seconds=5)
    scheduling_services.proposal_accept(proposal=proposal)
    item = Proposal.objects.get(pk=proposal.pk).items.get(key="topic-cell-therapeutics")
    meeting = Meeting.objects.get(pk=item.meeting_id)
    host = meeting.participations.select_related("person").get(person_id=item.spec.host)
    booking.meeting_answer(participation=host, answer="declined")
    sequence = meeting.sequence

    sign_in(page, "coord", "coord-pass-1234")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("Sign in"))
    page.goto(f"/staff/visits/{centre.visit.pk}/")

    # The block: loud, with the name; the visit page's list: the same meeting and the repair button.
    block = page.locator(f"#block-{meeting.pk}")
    expect(block).to_have_class(re.compile(r"\bdeclined\b"))
    expect(block.locator('[data-answer="declined"]')).to_have_text(f"✕ Declined: {host.person.name}")
    declines = page.get_by_test_id("declines")
    expect(declines.get_by_test_id("decline")).to_have_count(1)
    expect(declines).to_contain_text(f"{host.person.name} declined.")
    expect(declines.get_by_test_id("repair-preview")).to_be_visible()
    shot(page, "planner-decline")
    assert not axe_violations(page)

    # The side panel: the meeting as the API has it now (the block is redrawn from it, still marked),
    # who declined, and the repair button.
    block.click()
    panel = page.get_by_test_id("planner-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("panel-answers")).to_contain_text(f"Declined: {host.person.name}")
    expect(block.locator('[data-answer="declined"]')).to_have_count(1)
    expect(block).to_have_class(re.compile(r"\bdeclined\b"))
    shot(page, "planner-decline-panel")
    panel.get_by_test_id("panel-repair").click()

    # The proposal page shows the preview; nothing is booked until it is confirmed.
    expect(page.get_by_test_id("repair-plan")).to_have_attribute("data-applied", "no")
    expect(page.get_by_role("button", name=re.compile("Confirm the repair"))).to_be_visible()
    assert Meeting.objects.get(pk=meeting.pk).sequence == sequence
    assert meeting.participations.filter(person_id=host.person_id).exists()
    assert page.csp_violations == []


def test_a_proposed_new_time_is_shaded_in_the_meetings_lane_and_accepted_from_the_visit_page(page, centre):  # noqa: F811
    """An iTIP COUNTER (as the organiser mailbox records it): the planner shades the proposed time in the
    meeting's room lane without catching the pointer, and Accept on the visit page moves the meeting."""

    from notifications.models import CounterProposal

    centre.coordinator.set_password("coord-pass-1234")
    centre.coordinator.save()
    proposal = scheduling_services.proposal_create(visit=centre.visit, by=centre.coordinator_person,
                                                   time_limit_seconds=5)
    scheduling_services.proposal_accept(proposal=proposal)
    item = Proposal.objects.get(pk=proposal.pk).items.get(key="topic-cell-therapeutics")
    meeting = Meeting.objects.get(pk=item.meeting_id)
    host = meeting.participations.select_related("person").get(person_id=item.spec.host).person
    starts_at = free_time_for(meeting)
    counter = CounterProposal.objects.create(meeting=meeting, person=host, starts_at=starts_at,
                                             ends_at=starts_at + (meeting.ends_at - meeting.starts_at),
                                             sequence=meeting.sequence)

    sign_in(page, "coord", "coord-pass-1234")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("Sign in"))
    page.goto(f"/staff/visits/{centre.visit.pk}/")

    shade = page.locator(f'.tl-counter[data-counter="{counter.pk}"]')
    expect(shade).to_contain_text(f"{host.name} proposes")
    placed = shade.evaluate("n => [getComputedStyle(n).gridColumnStart, getComputedStyle(n).gridRowStart, "
                            "getComputedStyle(n).pointerEvents]")
    lane = int(shade.get_attribute("data-lane"))
    assert placed[0] == str(lane + 2) and placed[1] not in ("auto", "") and placed[2] == "none"
    # The shade sits in the column of the meeting's room.
    head = page.locator(f'[data-planner-grid] [data-lane-head="{lane}"]').nth(1)
    assert head.get_attribute("data-room") == str(meeting.room_id)
    shot(page, "planner-counter")
    assert not page.csp_violations

    page.get_by_test_id("counter").get_by_test_id("counter-accept").click()
    expect(page.locator(".messages")).to_contain_text("moved to the proposed time")
    meeting.refresh_from_db()
    assert meeting.starts_at == counter.starts_at
    expect(page.locator(".tl-counter")).to_have_count(0)

