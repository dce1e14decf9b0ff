"""The coordinator's planner in a real browser (Debian's Chromium, Playwright, a live server).

Every test checks the database afterwards: the page saying "Saved" proves nothing on its own.
The programme (``confirmed_visit`` in conftest): one day, rooms "Board room" and "Lab 1",

    09:00–10:00  Board room  Welcome and introductions        Anna (chair)
    10:15–11:30  Lab 1       Lab tour: organoids              Ben (host)
    11:30–12:30  Board room  Horizon 2020 consortium ideas    Anna (host), Ben (presenter)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect, sync_playwright

from events.models import Meeting, Participation
from notifications.dispatch import dispatch_due
from visits import booking
from visits.models import ProgrammeSlot

from .conftest import host_user, local
from .test_browser import CHROMIUM, CHROMIUM_ARGS, axe_violations, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WELCOME = "Welcome and introductions"
TOUR = "Lab tour: organoids"
HORIZON = "Horizon 2020 consortium ideas"


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module, as in test_browser.py (the ORM runs beside Playwright's loop)."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)"
        if os.environ.get("CI") == "true" or os.environ.get("VISITDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def coordinator(db):
    return host_user("carla", "Carla Coordinator", is_staff=True, password="coord-pass-1234")


def new_page(browser, live_server, *, locale="en-GB", width=1280, height=1700, **options):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": height},
                                  **options)
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server, settings):
    settings.SITE_URL = live_server.url
    context, page = new_page(browser, live_server)
    yield page
    context.close()


def open_planner(page, visit, username="carla", password="coord-pass-1234"):
    page.goto("/staff/login/")  # by id: the labels are German in the German test
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(re.compile("Sign in|Anmelden"))
    page.goto(f"/staff/visits/{visit.pk}/")
    expect(block(page, WELCOME)).to_be_visible()
    # the script has placed the blocks: the first sits in the grid's first lane (column 2)
    expect(block(page, WELCOME)).to_have_css("grid-column-start", "2")


def block(page, title):
    """A meeting block by its accessible name, which must begin with the meeting's title."""
    return page.get_by_role("button", name=re.compile("^" + re.escape(title)))


def status(page):
    return page.get_by_test_id("planner-status")


def meeting(title) -> Meeting:
    return Meeting.objects.select_related("room").get(title=title)


def times(m: Meeting):
    return m.starts_at, m.ends_at


def test_move_and_resize_by_keyboard_save_with_enter_and_abandon_with_escape(page, coordinator, confirmed_visit,
                                                                             settings):
    day = confirmed_visit.day
    open_planner(page, confirmed_visit)
    welcome = block(page, WELCOME)
    welcome.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(status(page)).to_contain_text("09:30–10:30")
    expect(status(page)).to_contain_text("Not saved yet")
    assert times(meeting(WELCOME)) == (local(day, 9), local(day, 10))  # nothing is saved before Enter
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved: Welcome and introductions, 09:30–10:30")
    assert times(meeting(WELCOME)) == (local(day, 9, 30), local(day, 10, 30))
    # the same services as the API: Anna's invitation carries the new time
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 0  # no waiting for more edits to coalesce
    dispatch_due()
    to_anna = [m for m in mail.outbox if confirmed_visit.anna.email in " ".join(m.to) and WELCOME in m.subject]
    assert [m.subject for m in to_anna] == [
        f"Invitation: {WELCOME} – {day:%A}, {day.day} {day:%B %Y}, 09:30–10:30 (Europe/Berlin)"]
    calendars = [part.get_payload(decode=True).decode() for part in to_anna[0].message().walk()
                 if part.get_content_type() == "text/calendar"]
    assert calendars and "SEQUENCE:1" in calendars[0]

    page.keyboard.press("Shift+ArrowDown")
    expect(status(page)).to_contain_text("09:30–10:45")
    page.keyboard.press("Escape")
    expect(status(page)).to_contain_text("back at 09:30–10:30")
    expect(welcome).to_be_focused()
    page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Shift+ArrowUp")
    expect(status(page)).to_contain_text("09:30–10:00")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved")
    assert times(meeting(WELCOME)) == (local(day, 9, 30), local(day, 10))
    assert meeting(WELCOME).sequence == 2  # each save is one update the participants hear about
    shot(page, "planner-keyboard")


def test_cross_lane_move_by_keyboard_changes_the_room(page, coordinator, confirmed_visit):
    open_planner(page, confirmed_visit)
    tour = block(page, TOUR)
    tour.focus()
    page.keyboard.press("ArrowLeft")
    expect(status(page)).to_contain_text("10:15–11:30, Board room")
    expect(tour).to_have_css("grid-column-start", "2")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved")
    assert meeting(TOUR).room.name == "Board room"
    assert times(meeting(TOUR)) == (local(confirmed_visit.day, 10, 15), local(confirmed_visit.day, 11, 30))


def test_a_clash_is_shown_before_saving_and_the_server_refuses_it(page, coordinator, confirmed_visit):
    day = confirmed_visit.day
    open_planner(page, confirmed_visit)
    welcome = block(page, WELCOME)
    welcome.focus()
    page.keyboard.press("ArrowRight")  # Lab 1, 09:00–10:00: free
    expect(status(page)).not_to_contain_text("Clash")
    for _ in range(6):
        page.keyboard.press("ArrowDown")  # Lab 1, 10:30–11:30: the lab tour is there
    expect(status(page)).to_contain_text("Clash: Lab 1 is booked for “Lab tour: organoids”")
    expect(welcome).to_have_class(re.compile(r"\bclash\b"))
    shot(page, "planner-clash")
    page.keyboard.press("Enter")  # the preview is advice; the server decides, and refuses
    expect(status(page)).to_contain_text("Not saved")
    expect(welcome).not_to_have_class(re.compile(r"\bclash\b"))
    m = meeting(WELCOME)
    assert (m.room.name, *times(m)) == ("Board room", local(day, 9), local(day, 10))
    assert m.sequence == 0


def test_move_by_mouse_drag_and_resize_by_dragging_the_lower_edge(page, coordinator, confirmed_visit):
    day = confirmed_visit.day
    open_planner(page, confirmed_visit)
    welcome = block(page, WELCOME)
    box = welcome.bounding_box()
    slot = box["height"] / 4  # 09:00–10:00 is four quarter hours
    x, y = box["x"] + box["width"] / 2, box["y"] + slot / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(x, y + step * slot / 2)  # four rows down, in small steps like a hand
    page.mouse.up()
    expect(status(page)).to_contain_text("Saved: Welcome and introductions, 10:00–11:00")
    assert times(meeting(WELCOME)) == (local(day, 10), local(day, 11))

    box = welcome.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)  # the resize edge
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3 + slot, steps=4)
    page.mouse.up()
    expect(status(page)).to_contain_text("Saved: Welcome and introductions, 10:00–11:15")
    assert times(meeting(WELCOME)) == (local(day, 10), local(day, 11, 15))
    assert meeting(WELCOME).room.name == "Board room"


def lane_point(page, room: str, hh: int, mm: int = 0) -> tuple[float, float]:
    """Viewport coordinates of the middle of a quarter hour in a room's lane."""
    return page.evaluate(
        """([room, minutes]) => {
            const head = [...document.querySelectorAll('[data-lane-head]')].find(h => h.textContent.trim() === room);
            const grid = head.closest('[data-planner-grid]');
            const rows = +grid.dataset.minutes / 15;
            const g = grid.getBoundingClientRect(), h = head.getBoundingClientRect();
            const slot = (g.bottom - h.bottom) / rows;
            return [h.left + h.width / 2, h.bottom + ((minutes - +grid.dataset.origin) / 15 + 0.5) * slot];
        }""",
        [room, hh * 60 + mm],
    )


def test_create_by_selecting_empty_time_in_a_room_lane(page, coordinator, confirmed_visit):
    day = confirmed_visit.day
    open_planner(page, confirmed_visit)
    x, y = lane_point(page, "Lab 1", 14)
    _, y_end = lane_point(page, "Lab 1", 15, 15)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y_end, steps=6)
    page.mouse.up()
    panel = page.get_by_test_id("planner-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Starts")).to_have_value("14:00")
    expect(panel.get_by_label("Ends")).to_have_value("15:30")
    lab = confirmed_visit.programme.get(meeting__title=TOUR).meeting.room
    expect(panel.get_by_label("Room", exact=True)).to_have_value(str(lab.pk))
    expect(panel.get_by_label("Title")).to_be_focused()
    page.keyboard.type("Cell therapy: from bench to bedside")
    panel.get_by_label("Kind").select_option("talk")
    shot(page, "planner-create")
    panel.get_by_role("button", name="Save").click()
    expect(block(page, "Cell therapy: from bench to bedside")).to_be_focused()
    expect(status(page)).to_contain_text("Created “Cell therapy: from bench to bedside”, 14:00–15:30, Lab 1")
    created = meeting("Cell therapy: from bench to bedside")
    assert (created.room.name, created.kind, *times(created)) == ("Lab 1", "talk", local(day, 14), local(day, 15, 30))
    assert ProgrammeSlot.objects.filter(visit=confirmed_visit, meeting=created).exists()


def test_undo_puts_the_last_change_back_in_the_database(page, coordinator, confirmed_visit):
    day = confirmed_visit.day
    open_planner(page, confirmed_visit)
    block(page, HORIZON).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved")
    assert times(meeting(HORIZON)) == (local(day, 11, 45), local(day, 12, 45))
    undo = page.get_by_role("button", name=re.compile("^Undo"))
    expect(undo).to_have_text("Undo: move of “Horizon 2020 consortium ideas”")
    undo.click()
    expect(status(page)).to_contain_text("Undone: move of “Horizon 2020 consortium ideas”")
    assert times(meeting(HORIZON)) == (local(day, 11, 30), local(day, 12, 30))
    expect(undo).to_be_disabled()

    block(page, HORIZON).focus()  # the same from the keyboard: Ctrl+Z on the block
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved: Horizon 2020 consortium ideas, 11:30–12:45")
    page.keyboard.press("Control+z")
    expect(status(page)).to_contain_text("Undone")
    assert times(meeting(HORIZON)) == (local(day, 11, 30), local(day, 12, 30))


def test_side_panel_edits_agenda_participants_and_online_link(page, coordinator, confirmed_visit):
    open_planner(page, confirmed_visit)
    block(page, HORIZON).click()
    panel = page.get_by_test_id("planner-panel")
    expect(panel.get_by_role("heading", name="Edit “Horizon 2020 consortium ideas”")).to_be_visible()
    expect(panel.get_by_label("Agenda item 1")).to_have_value("Joint call 2027")
    panel.get_by_label("Agenda item 1").fill("Joint call 2027: consortium")
    panel.get_by_role("button", name="Add agenda item").click()
    expect(panel.get_by_label("Agenda item 2")).to_be_focused()
    page.keyboard.type("Next steps")
    panel.get_by_label("Minutes for item 2").fill("15")
    panel.get_by_label("Add a person").select_option(label="Jens Berg")
    panel.get_by_role("button", name="Add person").click()
    panel.get_by_role("button", name="Remove Prof. Ben Keller").click()
    panel.get_by_label("Role of Dr. Anna Schmidt").select_option("chair")
    panel.get_by_label("Online link").fill("https://meet.example.org/horizon")
    shot(page, "planner-panel")
    panel.get_by_role("button", name="Save").click()
    expect(status(page)).to_contain_text("Saved: Horizon 2020 consortium ideas")
    expect(panel).to_be_hidden()

    m = meeting(HORIZON)
    assert [(a.title, a.minutes) for a in m.agenda_items.all()] == [("Joint call 2027: consortium", 30),
                                                                   ("Next steps", 15)]
    assert m.agenda_items.first().presenter == confirmed_visit.ben  # kept, though the panel does not show it
    people = {p.person.name: p.role for p in m.participations.select_related("person")}
    assert people == {"Dr. Anna Schmidt": Participation.Role.CHAIR, "Jens Berg": Participation.Role.GUEST}
    assert m.online_url == "https://meet.example.org/horizon"


def test_cancel_asks_first_and_undo_books_it_again(page, coordinator, confirmed_visit):
    open_planner(page, confirmed_visit)
    block(page, TOUR).click()
    panel = page.get_by_test_id("planner-panel")
    panel.get_by_role("button", name="Cancel meeting…").click()
    assert meeting(TOUR).status == "scheduled"  # the first click only asks
    panel.get_by_role("button", name="Yes, cancel the meeting").click()
    expect(status(page)).to_contain_text("Cancelled “Lab tour: organoids”")
    assert meeting(TOUR).status == "cancelled"
    page.get_by_role("button", name=re.compile("^Undo")).click()
    expect(status(page)).to_contain_text("Undone")
    again = Meeting.objects.filter(title=TOUR, status="scheduled").get()
    assert again.room.name == "Lab 1" and ProgrammeSlot.objects.filter(visit=confirmed_visit, meeting=again).exists()


def test_a_stale_edit_from_a_second_coordinator_is_refused_and_reloaded(browser, live_server, settings, coordinator,
                                                                        confirmed_visit):
    settings.SITE_URL = live_server.url
    day = confirmed_visit.day
    host_user("dora", "Dora Deputy", is_staff=True, password="coord-pass-1234")
    first_context, first = new_page(browser, live_server)
    second_context, second = new_page(browser, live_server)
    try:
        open_planner(first, confirmed_visit)
        open_planner(second, confirmed_visit, username="dora")
        block(second, WELCOME).focus()
        second.keyboard.press("ArrowDown")
        second.keyboard.press("Enter")
        expect(status(second)).to_contain_text("Saved")
        assert times(meeting(WELCOME)) == (local(day, 9, 15), local(day, 10, 15))

        welcome = block(first, WELCOME)  # still shows 09:00, and holds the old version
        welcome.focus()
        first.keyboard.press("Shift+ArrowDown")
        first.keyboard.press("Enter")
        expect(status(first)).to_contain_text("Someone else changed “Welcome and introductions” meanwhile")
        expect(welcome).to_contain_text("09:15–10:15")  # reloaded as it is now
        shot(first, "planner-stale")
        assert times(meeting(WELCOME)) == (local(day, 9, 15), local(day, 10, 15))  # the other edit stands
        # the reloaded block carries the new version: the same change now goes through
        first.keyboard.press("Shift+ArrowDown")
        first.keyboard.press("Enter")
        expect(status(first)).to_contain_text("Saved: Welcome and introductions, 09:15–10:30")
        assert times(meeting(WELCOME)) == (local(day, 9, 15), local(day, 10, 30))

        # in the side panel: a stale save keeps what was typed, and a second save is a conscious overwrite
        block(first, HORIZON).click()
        panel = first.get_by_test_id("planner-panel")
        panel.get_by_label("Title").fill("Horizon Europe consortium")
        block(second, HORIZON).focus()
        second.keyboard.press("ArrowDown")
        second.keyboard.press("Enter")
        expect(status(second)).to_contain_text("Saved")
        panel.get_by_role("button", name="Save").click()
        expect(panel.get_by_role("alert")).to_contain_text("Someone else changed “Horizon 2020 consortium ideas”")
        expect(panel.get_by_label("Title")).to_have_value("Horizon Europe consortium")
        assert meeting(HORIZON).title == HORIZON  # refused: nothing of the stale save was stored
        expect(block(first, HORIZON)).to_contain_text("11:45–12:45")  # the other edit, reloaded
        panel.get_by_role("button", name="Save").click()
        expect(status(first)).to_contain_text("Saved: Horizon Europe consortium")
        m = meeting("Horizon Europe consortium")
        assert times(m) == (local(day, 11, 45), local(day, 12, 45))  # their move, and my title
    finally:
        first_context.close()
        second_context.close()


def test_german_labels_and_announcements(browser, live_server, settings, coordinator, confirmed_visit):
    settings.SITE_URL = live_server.url
    context, page = new_page(browser, live_server, locale="de-DE")
    try:
        open_planner(page, confirmed_visit)
        expect(page.get_by_role("heading", name="Programm", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Rückgängig")).to_be_disabled()
        block(page, WELCOME).focus()
        page.keyboard.press("ArrowDown")
        expect(status(page)).to_contain_text("Noch nicht gespeichert")
        page.keyboard.press("Enter")
        expect(status(page)).to_contain_text("Gespeichert")
        block(page, WELCOME).click()
        panel = page.get_by_test_id("planner-panel")
        expect(panel.get_by_label("Titel")).to_have_value(WELCOME)
        expect(panel.get_by_role("button", name="Tagesordnungspunkt hinzufügen")).to_be_visible()
        shot(page, "planner-de")
        assert times(meeting(WELCOME)) == (local(confirmed_visit.day, 9, 15), local(confirmed_visit.day, 10, 15))
    finally:
        context.close()


def test_phone_width_is_readable_and_the_panel_usable(browser, live_server, settings, coordinator, confirmed_visit):
    settings.SITE_URL = live_server.url
    context, page = new_page(browser, live_server, width=375, height=740, is_mobile=True, has_touch=True)
    try:
        open_planner(page, confirmed_visit)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px; only the timeline may"
        welcome = block(page, WELCOME)
        welcome.scroll_into_view_if_needed()
        welcome.tap()
        panel = page.get_by_test_id("planner-panel")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375 + 1, box
        panel.get_by_label("Title").fill("Welcome and coffee")
        panel.get_by_role("button", name="Save").scroll_into_view_if_needed()
        shot(page, "planner-phone")
        panel.get_by_role("button", name="Save").tap()
        expect(status(page)).to_contain_text("Saved: Welcome and coffee")
        assert Meeting.objects.filter(title="Welcome and coffee").exists()
    finally:
        context.close()


def test_the_planner_passes_axe_while_editing_and_the_csp_blocks_nothing(page, coordinator, confirmed_visit):
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    open_planner(page, confirmed_visit)
    response = page.request.get(f"/staff/visits/{confirmed_visit.pk}/")
    assert "'unsafe-inline'" not in response.headers.get("content-security-policy", "'unsafe-inline'")
    found = {"planner": axe_violations(page)}
    block(page, TOUR).focus()
    page.keyboard.press("ArrowDown")
    found["pending move"] = axe_violations(page)
    page.keyboard.press("Escape")
    block(page, HORIZON).click()
    expect(page.get_by_test_id("planner-panel")).to_be_visible()
    found["side panel"] = axe_violations(page)
    page.goto(f"/staff/people/{confirmed_visit.anna.pk}/day/{confirmed_visit.day.isoformat()}/")
    expect(block(page, WELCOME)).to_have_css("grid-column-start", "2")
    found["a person's day"] = axe_violations(page)
    assert {k: v for k, v in found.items() if v} == {}
    assert refused == []  # positions are set through the CSSOM, which a strict policy allows
    shot(page, "planner")


def test_busy_times_are_shaded_and_a_move_into_them_is_a_clash_the_server_refuses(page, coordinator, confirmed_visit):
    from availability.services import absence_create, room_closure_create

    day = confirmed_visit.day
    absence_create(person=confirmed_visit.anna, starts_at=local(day, 14), ends_at=local(day, 15), reason="Dentist")
    lab = confirmed_visit.programme.get(meeting__title=TOUR).meeting.room
    room_closure_create(room=lab, starts_at=local(day, 16), ends_at=local(day, 17), reason="Cleaning")
    open_planner(page, confirmed_visit)
    welcome = block(page, WELCOME)
    welcome.focus()  # selecting a meeting shades the busy times of its people and of every room
    # Anna: the Horizon meeting she hosts (11:30–12:30) and her absence (14:00–15:00)
    expect(page.locator(".tl-busy.person").filter(has_text="Dr. Anna Schmidt busy")).to_have_count(2)
    expect(page.locator(".tl-busy.room")).not_to_have_count(0)
    lab_column = page.locator(f"[data-lane-head][data-room='{lab.pk}']").evaluate(
        "h => getComputedStyle(h).gridColumnStart")
    closures = page.locator(".tl-busy.room").evaluate_all("ns => ns.map(n => getComputedStyle(n).gridColumnStart)")
    assert lab_column in closures
    for _ in range(20):
        page.keyboard.press("ArrowDown")  # 14:00–15:00
    expect(status(page)).to_contain_text("Clash: Dr. Anna Schmidt is busy 14:00–15:00")
    shot(page, "planner-busy")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Not saved")
    expect(status(page)).to_contain_text("Enter again books it anyway")
    assert times(meeting(WELCOME)) == (local(day, 9), local(day, 10))
    page.keyboard.press("Enter")  # on purpose: a coordinator may book against availability
    expect(status(page)).to_contain_text("Saved: Welcome and introductions, 14:00–15:00")
    m = meeting(WELCOME)
    assert times(m) == (local(day, 14), local(day, 15)) and m.booked_against_availability


def test_a_proposal_appears_as_draft_blocks_accepted_one_by_one_then_all(page, coordinator, confirmed_visit, topics):
    """The scheduler's proposal (issue 13) drawn on the planner; accepting books real programme meetings."""
    from scheduling.models import Proposal

    confirmed_visit.anna.expertise.set([topics[0]])
    confirmed_visit.ben.expertise.set([topics[1]])
    before = set(confirmed_visit.programme.values_list("meeting_id", flat=True))
    open_planner(page, confirmed_visit)
    page.get_by_role("button", name="Draft a proposal on the timeline").click()
    drafts = page.get_by_test_id("draft-block")
    expect(drafts.first).to_be_visible(timeout=60_000)
    proposal = Proposal.objects.get(visit=confirmed_visit)
    open_items = [i for i in proposal.items.all() if i.starts_at and not i.removed and not i.meeting_id]
    assert drafts.count() == len(open_items) >= 2
    first = open_items[0]
    draft = drafts.filter(has_text=first.title).first
    expect(draft).to_contain_text(first.reason)  # the reason is shown with the block
    shot(page, "planner-proposal")
    assert axe_violations(page) == []

    draft.get_by_role("button", name=f"Accept “{first.title}”").click()
    expect(status(page)).to_contain_text("Accepted: 1 meetings booked.")
    first.refresh_from_db()
    assert first.meeting is not None and (first.meeting.starts_at, first.meeting.ends_at) == (first.starts_at,
                                                                                               first.ends_at)
    booked_block = page.locator(f"#block-{first.meeting_id}")
    expect(booked_block).to_have_accessible_name(re.compile("^" + re.escape(first.title)))  # a real, editable block
    expect(drafts).to_have_count(len(open_items) - 1)

    page.get_by_role("button", name="Accept all proposed meetings").click()
    expect(status(page)).to_contain_text(f"Accepted: {len(open_items) - 1} meetings booked.")
    expect(drafts).to_have_count(0)
    booked = set(confirmed_visit.programme.values_list("meeting_id", flat=True)) - before
    assert len(booked) == len(open_items)
    assert all(i.meeting_id in booked for i in proposal.items.filter(pk__in=[i.pk for i in open_items]))


def test_a_rooms_day_and_a_persons_day_are_planners_too(page, coordinator, confirmed_visit):
    """Lab 1's day shows every meeting in Lab 1 (any visit); Anna's day starts new meetings with her as host."""
    from events.services import meeting_create

    day = confirmed_visit.day
    lab = confirmed_visit.programme.get(meeting__title=TOUR).meeting.room
    meeting_create(title="Lab safety training", starts_at=local(day, 14), ends_at=local(day, 15), room=lab)
    open_planner(page, confirmed_visit)
    page.get_by_role("link", name="Lab 1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lab 1 (Stem Cell Campus)")
    expect(block(page, TOUR)).to_be_visible()
    training = block(page, "Lab safety training")  # not in the visit, but in the room
    training.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved: Lab safety training, 14:15–15:15")
    assert times(meeting("Lab safety training")) == (local(day, 14, 15), local(day, 15, 15))

    page.goto(f"/staff/people/{confirmed_visit.anna.pk}/day/{day.isoformat()}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. Anna Schmidt's day")
    expect(block(page, WELCOME)).to_be_visible()
    expect(block(page, TOUR)).to_have_count(0)  # Ben's tour is not Anna's
    page.get_by_role("button", name=re.compile("^New meeting on")).click()
    panel = page.get_by_test_id("planner-panel")
    expect(panel.get_by_label("Role of Dr. Anna Schmidt")).to_have_value("host")
    panel.get_by_label("Title").fill("Interview with the press")
    panel.get_by_label("Starts").fill("16:00")
    panel.get_by_label("Ends").fill("16:30")
    panel.get_by_role("button", name="Save").click()
    expect(status(page)).to_contain_text("Created “Interview with the press”, 16:00–16:30")
    created = meeting("Interview with the press")
    assert [(p.person, p.role) for p in created.participations.all()] == [(confirmed_visit.anna, "host")]
    assert not ProgrammeSlot.objects.filter(meeting=created).exists()  # standalone, not in the visit
    shot(page, "planner-person-day")


def test_a_finger_drags_after_holding_still_and_a_quick_swipe_only_scrolls(browser, live_server, settings,
                                                                          coordinator, confirmed_visit):
    settings.SITE_URL = live_server.url
    day = confirmed_visit.day
    context, page = new_page(browser, live_server, width=375, height=740, is_mobile=True, has_touch=True)
    try:
        open_planner(page, confirmed_visit)
        welcome = block(page, WELCOME)
        welcome.scroll_into_view_if_needed()
        cdp = context.new_cdp_session(page)

        def touch(kind, x, y):
            points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        box = welcome.bounding_box()
        slot = box["height"] / 4
        x, y = box["x"] + box["width"] / 2, box["y"] + slot / 2
        touch("touchStart", x, y)  # a quick swipe: the page may scroll, the meeting stays
        for step in range(1, 6):
            touch("touchMove", x, y + step * slot / 2)
        touch("touchEnd", x, y)
        page.wait_for_timeout(500)
        assert times(meeting(WELCOME)) == (local(day, 9), local(day, 10))

        box = welcome.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + slot / 2
        touch("touchStart", x, y)
        page.wait_for_timeout(600)  # hold still: the block is picked up
        expect(welcome).to_have_class(re.compile(r"\bdragging\b"))
        for step in range(1, 5):
            touch("touchMove", x, y + step * slot / 2)  # two rows down
        touch("touchEnd", x, y + 2 * slot)
        expect(status(page)).to_contain_text("Saved: Welcome and introductions, 09:30–10:30")
        assert times(meeting(WELCOME)) == (local(day, 9, 30), local(day, 10, 30))
    finally:
        context.close()


def test_a_meeting_past_midnight_keeps_its_length_when_moved(page, coordinator, confirmed_visit):
    from datetime import timedelta


    day = confirmed_visit.day
    booking.meeting_create(visit=confirmed_visit, title="Night lab", starts_at=local(day, 22),
                                            ends_at=local(day + timedelta(days=1), 0, 30))
    open_planner(page, confirmed_visit)
    night = block(page, "Night lab").first  # drawn on the day it starts, clipped at midnight
    night.focus()
    page.keyboard.press("ArrowUp")
    expect(status(page)).to_contain_text("21:45–00:15")
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved")
    assert times(meeting("Night lab")) == (local(day, 21, 45), local(day + timedelta(days=1), 0, 15))
    night.click()
    panel = page.get_by_test_id("planner-panel")
    expect(panel.get_by_label("Ends")).to_have_value("00:15")
    panel.get_by_label("Title").fill("Night lab (late shift)")
    panel.get_by_role("button", name="Save").click()  # ends 00:15 after 21:45 means the next day
    expect(status(page)).to_contain_text("Saved: Night lab (late shift)")
    assert times(meeting("Night lab (late shift)")) == (local(day, 21, 45), local(day + timedelta(days=1), 0, 15))


def test_a_move_that_breaks_a_programme_rule_is_saved_and_the_status_line_names_the_rule(page, coordinator,
                                                                                         confirmed_visit):
    """Issue 19: the planner saves a hand edit that breaks a rule of the programme (visits.rules) and
    says which; the visit page lists the broken rules when it is opened again."""
    day = confirmed_visit.day
    ProgrammeSlot.objects.filter(meeting__title=WELCOME).update(kind="welcome")
    open_planner(page, confirmed_visit)
    welcome = block(page, WELCOME)
    welcome.focus()
    for _ in range(20):
        page.keyboard.press("ArrowDown")  # 14:00–15:00, after the tour and the Horizon meeting
    page.keyboard.press("Enter")
    expect(status(page)).to_contain_text("Saved: Welcome and introductions, 14:00–15:00")
    expect(status(page)).to_contain_text("breaks these rules")
    expect(status(page)).to_contain_text("starts before the welcome ends")
    assert times(meeting(WELCOME)) == (local(day, 14), local(day, 15))
    page.goto(f"/staff/visits/{confirmed_visit.pk}/")
    expect(page.locator('[data-testid="broken-rule"][data-rule="welcome-first"]').first).to_be_visible()
