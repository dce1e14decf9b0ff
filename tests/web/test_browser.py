"""The pages in a real browser: Debian's Chromium driven by Playwright against a live server.

These run in CI and must not skip: a missing Chromium makes them fail. Each saves a screenshot
under ``test-output/screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from events.models import Participation
from notifications.dispatch import dispatch_due
from visits.models import Visit

from .conftest import request_visit

CHROMIUM = os.environ.get("VISITDESK_CHROMIUM", "/usr/bin/chromium")
# Flags that keep Debian's Chromium from phoning home (and stalling) in a sandbox-less CI container.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    """Playwright's sync API runs an event loop in this thread; the ORM calls in these tests are still
    plain synchronous calls, so Django's async-safety guard would be a false alarm. Only for this module."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright):
    """One Chromium per module; launch() gives it a fresh temporary profile (user-data-dir)."""
    if not Path(CHROMIUM).exists():
        # A bare developer machine may lack Chromium; in CI (where skips fail the run) it must be there.
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)"
        if os.environ.get("CI") == "true" or os.environ.get("VISITDESK_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.SITE_URL = live_server.url  # status and feed links point at this server
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, username: str, password: str) -> None:
    page.goto("/staff/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def load_demo(settings) -> None:
    """The demo scenario with its ``coordinator`` and ``host`` users (created only under DEBUG)."""
    settings.DEBUG = True
    try:
        call_command("load_demo_data", verbosity=0)
    finally:
        settings.DEBUG = False


def test_request_a_visit_from_the_home_page_with_a_correction(page, topics, settings):
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Request a visit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a visit")

    page.get_by_label("Organisation name").fill("Life Science Nord Management GmbH")
    page.get_by_label("Country").fill("de")
    page.get_by_label("Website").fill("https://lifescience-nord.example")
    page.get_by_label("Your name").fill("Kirsten Hansen")
    page.get_by_label("Your e-mail").fill("kirsten@lifescience-nord.example")
    page.get_by_label("Language for our e-mails").select_option("en")
    page.get_by_label("Delegation name").fill("Life Science Nord delegation")
    page.get_by_label("Number of people travelling").fill("3")
    page.locator("#id_members-0-name").fill("Jens Berg")
    page.locator("#id_members-0-email").fill("jens@lifescience-nord.example")
    page.locator("#id_members-0-job_title").fill("Cluster manager")
    # the row is added in place by the small script (and by a round trip without it)
    page.get_by_role("button", name="Add another member").click()
    expect(page.locator("#id_members-1-name")).to_be_focused()
    page.locator("#id_members-1-name").fill("Eva Lund")
    page.locator("#id_members-1-email").fill("eva@lifescience-nord.example")
    # a date in the past: the server explains it next to the field
    page.locator("#id_windows-0-start").fill("2020-03-02")
    page.locator("#id_windows-0-end").fill("2020-03-06")
    page.get_by_label("Stem cell R&D").check()
    page.get_by_label("Purpose of the visit").fill("Cross-border R&D cooperation: stem cells, cell therapeutics.")
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("alert")).to_contain_text("Please check the highlighted fields")
    expect(page.locator("#id_windows-0-start_error")).to_have_text("This date is in the past.")
    expect(page.locator("#id_windows-0-start")).to_have_attribute("aria-invalid", "true")
    # nothing typed is lost
    expect(page.get_by_label("Organisation name")).to_have_value("Life Science Nord Management GmbH")
    expect(page.locator("#id_members-1-email")).to_have_value("eva@lifescience-nord.example")
    expect(page.get_by_label("Stem cell R&D")).to_be_checked()
    shot(page, "request-validation-error")
    assert not Visit.objects.exists()

    start = timezone.localdate() + timedelta(days=30)
    page.locator("#id_windows-0-start").fill(start.isoformat())
    page.locator("#id_windows-0-end").fill((start + timedelta(days=4)).isoformat())
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, we received your request")
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"VIS-\d{4}-\d{4}", reference)
    visit = Visit.objects.get(reference=reference)
    assert visit.delegation.members.count() == 3
    assert [t.slug for t in visit.topics.all()] == ["stem-cell-rd"]
    shot(page, "request-sent")
    # the acknowledgement: what the dispatcher (a Celery task in production) sends for this request
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    dispatch_due()
    acks = [m for m in mail.outbox if any("kirsten@lifescience-nord.example" in to for to in m.to)]
    assert len(acks) == 1, [(m.to, m.subject) for m in mail.outbox]
    assert reference in acks[0].subject + acks[0].body
    assert visit.status_token in acks[0].body

    page.get_by_test_id("status-link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.get_by_test_id("visit-status")).to_have_text("Requested")
    expect(page.get_by_role("link", name=re.compile("Subscribe"))).to_have_attribute("href", re.compile(r"^webcal://"))


def test_requester_cancels_from_the_status_page(page):
    visit = request_visit()
    page.goto(f"/visits/status/{visit.status_token}/")
    expect(page.get_by_test_id("visit-status")).to_have_text("Requested")
    page.get_by_role("link", name="Cancel this visit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Cancel visit {visit.reference}?")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.REQUESTED  # the confirmation step has not cancelled anything yet
    page.get_by_label("Reason (optional)").fill("Our flights were cancelled.")
    page.get_by_role("button", name="Yes, cancel the visit").click()
    expect(page.get_by_test_id("visit-status")).to_have_text("Cancelled")
    expect(page.get_by_role("status")).to_contain_text("is cancelled")
    expect(page.get_by_role("link", name="Cancel this visit")).to_have_count(0)
    shot(page, "status-cancelled")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CANCELLED


def test_coordinator_signs_in_and_sees_the_demo_visits_timeline(page, settings):
    load_demo(settings)
    confirmed = Visit.objects.filter(status=Visit.Status.CONFIRMED).first()
    assert confirmed is not None and confirmed.programme.exists()
    sign_in(page, "coordinator", "demo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Visits")
    page.get_by_label("Status").select_option("confirmed")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=confirmed.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(confirmed.reference)
    blocks = page.get_by_test_id("timeline-block")
    expect(blocks.first).to_be_visible()
    assert blocks.count() == confirmed.programme.count()
    # blocks are laid out on the grid: later meetings sit lower on the page
    first, last = blocks.first.bounding_box(), blocks.last.bounding_box()
    assert last["y"] > first["y"]
    page.get_by_role("heading", name="Programme", exact=True).scroll_into_view_if_needed()
    shot(page, "coordinator-timeline")


def test_host_answers_an_rsvp(page, settings):
    load_demo(settings)
    sign_in(page, "host", "demo")
    page.get_by_role("link", name="My meetings").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My meetings")
    first_rsvp = page.locator("form.rsvp").first
    expect(first_rsvp.get_by_test_id("rsvp-state")).to_have_text("Needs action")
    first_rsvp.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("You answered “Accept”")
    updated = page.locator("form.rsvp").first
    expect(updated.get_by_test_id("rsvp-state")).to_have_text("Accepted")
    expect(updated.get_by_role("button", name="Accept")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("link", name=re.compile("Subscribe"))).to_have_attribute("href", re.compile(r"^webcal://"))
    shot(page, "host-my-meetings")
    host = Participation.objects.filter(person__user__username="host", rsvp=Participation.Rsvp.ACCEPTED)
    assert host.count() == 1


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.x A/AA rules on the current page; one line per violated rule and node."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    return [
        f"{v['id']} ({v['impact']}): {node['target']}"
        for v in results.response["violations"]
        for node in v["nodes"]
    ]


def test_the_pages_pass_axe_accessibility_checks(page, settings, topics):
    load_demo(settings)
    visit = Visit.objects.filter(status=Visit.Status.CONFIRMED).first()
    found = {}
    for path in ("/", "/visits/request/", f"/visits/status/{visit.status_token}/",
                 f"/visits/status/{visit.status_token}/cancel/", "/staff/login/"):
        page.goto(path)
        found[path] = axe_violations(page)
    page.goto("/visits/request/")
    page.get_by_role("button", name="Send request").click()  # every required field empty: errors everywhere
    expect(page.get_by_role("alert")).to_be_visible()
    found["/visits/request/ with errors"] = axe_violations(page)
    sign_in(page, "coordinator", "demo")
    for path in ("/staff/", f"/staff/visits/{visit.pk}/", "/staff/my-meetings/"):
        page.goto(path)
        found[path] = axe_violations(page)
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_keyboard_only_request_form_and_phone_width(browser, live_server, settings, topics):
    """Skip link first, the add-row button works from the keyboard, and nothing scrolls sideways on a phone."""
    settings.SITE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 375, "height": 740},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        visit = request_visit()
        for path in ("/", "/visits/request/", f"/visits/status/{visit.status_token}/"):
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375px"
        page.goto("/visits/request/")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Add another member").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#id_members-1-name")).to_be_focused()
        shot(page, "request-phone")
    finally:
        context.close()
