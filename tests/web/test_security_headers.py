"""Security headers: a strict Content-Security-Policy on every page and no-store on secret-link pages.

The policy allows no inline script or style, so the pages must carry none: checked in every
template and in every rendered page here, and in a real Chromium (``test_browser_csp.py``),
which reports any violation.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from notifications import links
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "web" / "templates", ROOT / "api" / "templates", ROOT / "templates",
                 ROOT / "notifications" / "templates" / "notifications" / "rsvp.html",
                 ROOT / "notifications" / "templates" / "notifications" / "opt_out.html"]


class InlineFinder(HTMLParser):
    """Collects style attributes, on* handlers and script elements with a body."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if "style" in names:
            self.found.append(f"<{tag} style=…>")
        self.found.extend(f"<{tag} {name}=…>" for name in names if name.startswith("on"))
        if tag == "style":
            self.found.append("<style> element")
        kind = dict(attrs).get("type") or ""
        self._script_without_src = tag == "script" and "src" not in names and "json" not in kind

    def handle_data(self, data):
        if self._script_without_src and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_without_src = False


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_no_template_carries_inline_script_or_style():
    offenders = {}
    for folder in TEMPLATE_DIRS:
        for path in [folder] if folder.is_file() else folder.rglob("*.html"):
            text = path.read_text()
            found = re.findall(r"""\sstyle\s*=|\son[a-z]+\s*=|<script>|<script(?![^>]*\bsrc=)[^>]*>\s*\S|<style""", text)
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.fixture
def pages(confirmed_visit):
    visit = confirmed_visit
    meeting = visit.programme.first().meeting
    return {
        "anonymous": ["/", "/visits/request/", f"/visits/status/{visit.status_token}/",
                      f"/visits/status/{visit.status_token}/cancel/", "/staff/login/", "/admin/login/", "/api/docs/",
                      links.rsvp_url(meeting_id=meeting.pk, person_id=visit.anna.pk, answer="accepted"),
                      links.opt_out_url(person_id=visit.anna.pk)],
        "coordinator": ["/staff/", f"/staff/visits/{visit.pk}/", "/admin/", "/admin/visits/visit/",
                        f"/admin/visits/visit/{visit.pk}/change/", "/admin/events/meeting/add/",
                        "/admin/availability/personavailability/", "/admin/availability/externalcalendar/"],
        "host": ["/staff/my-meetings/", "/staff/availability/"],
    }


def _client(role, visit) -> Client:
    client = Client()
    if role == "coordinator":
        client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    elif role == "host":
        client.force_login(visit.anna.user)
    return client


def test_every_page_has_a_strict_policy_and_no_inline_parts(pages, confirmed_visit):
    for role, paths in pages.items():
        client = _client(role, confirmed_visit)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (role, path, response.status_code)
            policy = response["Content-Security-Policy"]
            directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
            assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", policy
            assert directives["default-src"] == "'self'" and "unsafe" not in policy, policy
            if response["Content-Type"].startswith("text/html"):
                assert inline_parts(response.content.decode()) == [], (role, path)


def test_pages_behind_secret_links_are_never_stored(pages, confirmed_visit):
    secret = [p for p in pages["anonymous"] if "/visits/status/" in p or "/n/" in p]
    assert len(secret) == 4
    for path in secret:
        response = Client().get(path)
        assert "no-store" in response["Cache-Control"], (path, response.get("Cache-Control"))
    public = Client().get("/")
    assert "no-store" not in public.get("Cache-Control", "")


def test_the_swagger_page_loads_its_start_up_script_as_a_file():
    response = Client().get("/api/docs/?script=")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


def test_favicon_exists():
    from django.contrib.staticfiles import finders

    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/web/favicon.svg")
    assert "<svg" in Path(finders.find("web/favicon.svg")).read_text()
