"""The programme document in a real Chromium, and its PDF rendered to PNG (poppler's ``pdftoppm``).

Screenshots go to ``test-output/screenshots/`` like every browser test's: the demo visit's programme
page and the first page of its PDF (the README shows a copy, docs/screenshots/programme-pdf.png), and
the long programme — three days, twenty meetings, long German titles — as a page, as a phone-width
page and as PDF pages.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.programmes import build_long_programme
from visits.models import Visit

from .test_browser import (  # noqa: F401
    SCREENSHOTS,
    allow_orm_beside_playwright,
    axe_violations,
    browser,
    load_demo,
    page,
    shot,
    sign_in,
)
from .test_browser_csp import watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pdf_to_png(pdf: bytes, name: str, *, pages: int = 1) -> list[Path]:
    """Render the PDF's first ``pages`` pages to PNG next to the screenshots; returns the files."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: install poppler-utils (see .ci/run)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{name}-[0-9]*.png"):
        old.unlink()
    source = SCREENSHOTS / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run([pdftoppm, "-png", "-r", "80", "-f", "1", "-l", str(pages), str(source), str(SCREENSHOTS / name)],
                   check=True, timeout=60)
    # pdftoppm numbers the pages (name-1.png, or name-01.png for 10+ pages)
    found = sorted(SCREENSHOTS.glob(f"{name}-[0-9]*.png"))
    assert len(found) >= pages
    for png in found:
        assert png.stat().st_size > 10_000, f"{png} looks blank"
    return found


def test_the_demo_visits_programme_page_and_pdf(page, settings):  # noqa: F811
    load_demo(settings)
    visit = Visit.objects.filter(status=Visit.Status.CONFIRMED).first()
    violations = watch_csp(page)
    sign_in(page, "coordinator", "demo")
    page.goto(f"/staff/visits/{visit.pk}/")
    expect(page.get_by_test_id("send-programme")).to_have_text("Send programme again")  # the demo sent it
    page.get_by_role("link", name="Programme page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(visit.delegation.name)
    expect(page.get_by_text("All times are local time at the venue (Europe/Berlin).")).to_be_visible()
    expect(page.get_by_role("heading", name="How to get there")).to_be_visible()
    rows = page.locator("tr.item")
    assert rows.count() == visit.programme.count()
    # Time, title and place sit side by side on one row.
    first = rows.first
    assert first.locator(".c-time").bounding_box()["y"] == pytest.approx(first.locator(".c-what").bounding_box()["y"], abs=2)
    assert axe_violations(page) == []
    shot(page, "programme-page")
    page.get_by_role("link", name="Deutsch").click()
    expect(page.get_by_role("heading", name="Anfahrt")).to_be_visible()
    shot(page, "programme-page-de")
    assert violations == [], "the page runs under the Content-Security-Policy"

    response = page.request.get(f"/staff/visits/{visit.pk}/programme.pdf?lang=en")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    (png,) = pdf_to_png(response.body(), "programme-pdf")
    assert png.name == "programme-pdf-1.png"


def test_the_long_programme_as_a_page_on_a_phone_and_as_pdf_pages(browser, live_server, settings):  # noqa: F811
    settings.SITE_URL = live_server.url
    programme = build_long_programme(language="de")
    token = programme.visit.status_token
    context = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": 1100, "height": 900})
    try:
        desk = context.new_page()
        desk.goto(f"/visits/status/{token}/")
        desk.get_by_test_id("programme-pdf").wait_for()
        desk.goto(f"/visits/status/{token}/programme.html")
        headings = desk.locator("section.day h2")
        expect(headings).to_have_count(3)
        expect(headings.first).to_contain_text("Tag 1")
        expect(desk.locator("tr.item")).to_have_count(20)
        for meeting in programme.meetings:
            expect(desk.locator(f'tr.item[data-meeting="{meeting.pk}"]')).to_contain_text(meeting.title)
        shot(desk, "programme-page-long-de")
        pdf = desk.request.get(f"/visits/status/{token}/programme.pdf").body()
        pngs = pdf_to_png(pdf, "programme-pdf-long-de", pages=3)
        assert len(pngs) >= 3
    finally:
        context.close()
    phone = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": 375, "height": 740},
                                is_mobile=True, has_touch=True)
    try:
        small = phone.new_page()
        small.goto(f"/visits/status/{token}/programme.html")
        expect(small.locator("tr.item")).to_have_count(20)
        overflow = small.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
        shot(small, "programme-page-long-phone")
    finally:
        phone.close()


def test_the_demo_requests_proposal_shows_a_programme_check_with_every_rule_kept(page, settings):  # noqa: F811
    """The README's picture of "Propose programme": the pending demo request, proposed with no hand edits."""
    load_demo(settings)
    visit = Visit.objects.get(status=Visit.Status.REQUESTED)
    sign_in(page, "coordinator", "demo")
    page.goto(f"/staff/visits/{visit.pk}/proposal/")
    page.get_by_role("button", name="Propose programme").click()
    check = page.get_by_test_id("programme-check")
    expect(check).to_be_visible()
    rules = check.get_by_test_id("rule")
    assert rules.count() >= 8
    assert [rules.nth(i).get_attribute("data-kept") for i in range(rules.count())] == ["yes"] * rules.count()
    shot(page, "proposal-check")
