"""The Content-Security-Policy in a real Chromium: no page triggers a violation, and the timeline,
positioned from static JS instead of style attributes, is still laid out on its grid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from visits.models import Visit

from .test_browser import allow_orm_beside_playwright, browser, load_demo, page, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch_csp(browser_page) -> list[str]:
    """Chromium reports every blocked inline script/style or foreign resource on the console."""
    violations: list[str] = []
    browser_page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return violations


def test_pages_run_under_the_policy_without_violations(page, settings):  # noqa: F811
    load_demo(settings)
    violations = watch_csp(page)
    confirmed = Visit.objects.filter(status=Visit.Status.CONFIRMED).first()
    for path in ("/", "/visits/request/", f"/visits/status/{confirmed.status_token}/", "/api/docs/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    expect(page.locator(".swagger-ui").first).to_be_visible()  # Swagger UI started from its script file

    sign_in(page, "coordinator", "demo")
    page.goto(f"/staff/visits/{confirmed.pk}/")
    blocks = page.get_by_test_id("timeline-block")
    expect(blocks.first).to_be_visible()
    grid_row = blocks.first.evaluate("element => element.style.gridRow")
    assert grid_row and "/" in grid_row
    first, last = blocks.first.bounding_box(), blocks.last.bounding_box()
    assert last["y"] > first["y"]
    for path in ("/admin/", "/admin/visits/visit/", f"/admin/visits/visit/{confirmed.pk}/change/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []
