"""Text that people typed, made safe for the places it is shown.

``single_line``: names and titles are one line — CR, LF and other control characters (which
would forge mail headers, iCalendar properties or log lines) become spaces.

``defang_links`` / ``link_html``: mail bodies mix our own links (status page, feeds, admin) with
text a requester typed. A delegation called ``https://phish.example/login`` must not become a
link in anybody's inbox — not in our HTML part, and not through the mail client's own
auto-linking of the plain-text part. Every URL-, domain- or address-like token that is not one
of ours gets a zero-width space after its ``:``, ``.`` and ``@`` (invisible when read, but no
linkifier recognises it any more); only trusted URLs are turned into ``<a>`` in HTML.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

ZWSP = "\u200b"

#: URLs with a scheme, www. hosts, e-mail addresses and bare domain names (a.b.tld/path).
LINKISH = re.compile(
    r"""(?ix)
    (?:\b[a-z][a-z0-9+.\-]{1,15}:(?://)?[^\s<>"']+)      # scheme:…, e.g. https://x, mailto:x, webcal://x
    | (?:\bwww\.[^\s<>"']+)
    | (?:[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)                  # an address
    | (?:\b(?:[\w\-]+\.)+[a-z]{2,}\b(?:/[^\s<>"']*)?)      # a bare domain, maybe with a path
    """
)
_TRAILING = ".,;:!?)]}'\""


def single_line(value: str) -> str:
    """One line: CR/LF, tabs and other control characters become single spaces; ends trimmed."""
    cleaned = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in value)
    return " ".join(cleaned.split())


def _split_trailing(token: str) -> tuple[str, str]:
    end = len(token)
    while end > 0 and token[end - 1] in _TRAILING:
        end -= 1
    return token[:end], token[end:]


def defang(token: str) -> str:
    return re.sub(r"([:.@])(?!\u200b)", "\\1" + ZWSP, token)


def defang_links(text: str, *, trusted: Callable[[str], bool]) -> str:
    """Break every link-like token that ``trusted`` does not accept (see the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        token, tail = _split_trailing(match.group(0))
        return (token if trusted(token) else defang(token)) + tail

    return LINKISH.sub(replace, text)


def link_html(text: str, *, trusted: Callable[[str], bool]) -> SafeString:
    """HTML for a plain-text body: escaped, line breaks kept, only trusted URLs as links."""
    out: list[str] = []
    last = 0
    for match in LINKISH.finditer(text):
        token, _tail = _split_trailing(match.group(0))
        out.append(escape(text[last:match.start()]))
        if trusted(token) and re.match(r"(?i)(https?|webcal|mailto):", token):
            out.append(format_html('<a href="{}">{}</a>', token, token))
        else:
            out.append(escape(token if trusted(token) else defang(token)))
        last = match.start() + len(token)
    out.append(escape(text[last:]))
    return mark_safe("".join(out).replace("\n", "<br>\n"))  # noqa: S308 - every piece above is escaped
