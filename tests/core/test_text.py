"""Typed text made safe: one-line names, and no links from requester text in mails."""

from __future__ import annotations

import re

import pytest

from core.text import ZWSP, defang_links, link_html, single_line
from core.timezones import is_timezone_name

OURS = "http://127.0.0.1:8000"


def trusted(token: str) -> bool:
    return token.startswith(OURS + "/")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("Lab\r\ntour", "Lab tour"), ("  Anna\tSchmidt \n", "Anna Schmidt"), ("a\u2028b", "a b"), ("Müller, Anna", "Müller, Anna")],
)
def test_single_line(raw, clean):
    assert single_line(raw) == clean


@pytest.mark.parametrize(
    "typed",
    ["https://phish.example/login", "www.phish.example", "evil.example/path", "mailto:x@evil.example",
     "someone@evil.example", "HTTPS://PHISH.EXAMPLE"],
)
def test_typed_links_are_defused_in_text_and_html(typed):
    text = defang_links(f"Delegation {typed}.", trusted=trusted)
    assert typed not in text and typed.replace(ZWSP, "") == text.replace(ZWSP, "")[11:-1]
    assert not re.search(r"(?i)https?://\w", text)
    html = str(link_html(text, trusted=trusted))
    assert "<a " not in html and typed not in html


def test_our_links_stay_links_and_names_stay_readable():
    body = f"Dear Dr. Müller e.V.,\nfollow it here: {OURS}/visits/status/abc/.\n"
    text = defang_links(body, trusted=trusted)
    assert text == body  # nothing of ours or of a plain name is touched
    html = str(link_html(text, trusted=trusted))
    assert f'<a href="{OURS}/visits/status/abc/">{OURS}/visits/status/abc/</a>.<br>' in html


def test_html_escapes_everything_else():
    html = str(link_html('<script>alert(1)</script> & "x"', trusted=trusted))
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(("name", "ok"), [("Europe/Berlin", True), ("UTC", True), ("localtime", False),
                                          ("Factory", False), ("posixrules", False), ("", False), (None, False)])
def test_time_zone_names(name, ok):
    assert is_timezone_name(name) is ok
