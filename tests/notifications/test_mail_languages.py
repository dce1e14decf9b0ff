"""Every mail speaks the recipient's language, from the gettext catalogue the pages use.

Each mail kind is rendered in English and in German from the same context; the German mail may not
contain a word of the English mail's own text (everything that is not data people typed). An invite
sent to a German participant carries a German DESCRIPTION in its calendar part, while the feeds
every subscriber shares stay in one language, byte for byte.
"""

from __future__ import annotations

import re
from types import SimpleNamespace as N

import pytest
from django.utils import translation

from calendars import ical
from calendars.snapshot import meetings_data
from events.selectors import meeting_list
from notifications import compose
from notifications.models import Kind

from .conftest import calendar_part, subject, text_part

KINDS = [
    "invite", "update", "cancel", "reminder", "visit_ack", "visit_confirmed", "visit_declined",
    "visit_cancelled", "visit_reminder", "coordinator_new_request", "coordinator_rsvp_declined",
    "decline_counter", "mailbox_forward", "answer_summary",
]

#: Words both languages write the same way (names of products, schemes, loanwords).
SHARED = {"Online", "Outlook", "Google", "webcal", "Delegation", "https", "mailto"}


def _context() -> dict:
    """Every variable any mail template reads; the data itself uses no English words."""
    meeting = N(title="Zellbiologie Labor", is_cancelled=False, online_url="https://meet.example.org/x",
                description="Treffpunkt Foyer")
    visit = N(reference="V-2026-0042", delegation=N(name="LSN Gruppe", size=3, organisation=N(name="Nord AB")),
              contact=N(name="Anna Kvist", email="anna@lsn.example.org"), purpose="Stammzellen",
              decision_note="")
    return {
        "person": N(name="Anna Kvist"), "meeting": meeting, "when": "W1", "when_short": "W2", "where": "R1",
        "agenda": [N(title="Rundgang", minutes=20, presenter=N(name="Jana Weber"))],
        "rsvp": [("X1", "https://s.example.org/r/1")], "changes": ["C1"], "ics_url": "https://s.example.org/i",
        "opt_out_url": "https://s.example.org/o", "organizer_name": "Visitdesk", "organizer_email": "o@s.example.org",
        "decliner": N(name="Jana Weber", email="jana@host.example.org"), "visit": visit,
        "admin_url": "https://s.example.org/a", "status_url": "https://s.example.org/s", "itinerary_url": "",
        "first_day": "D1", "last_day": "D2", "programme": [N(when="W3", meeting=N(title="Rundgang"), where="R2")],
        "feed": N(https="https://s.example.org/f", webcal="webcal://s.example.org/f", google="https://g.example.org",
                  outlook="https://o.example.org"),
        "counter_when": "W4", "comment": "Raum belegt", "kept": True,
        "inbound": N(subject="Abwesenheitsnotiz", sender="lena@holm.example.org"),
        # the coordinator's answer summary (its lines and counts are worded in compose, under the language)
        "meetings": [{"title": "Rundgang", "when": "W5", "visit": "V-2026-0042 · LSN Gruppe", "lines": ["Z1"],
                      "needs_repair": True, "repair_url": "https://s.example.org/p", "visit_url": "https://s.example.org/v"},
                     {"title": "Mittagessen", "when": "W6", "visit": "", "lines": ["Z2"], "needs_repair": True,
                      "repair_url": "", "visit_url": ""}],
        "counts": "K1", "total": 2, "until": "U1",
    }


def _words(text: str) -> set[str]:
    text = text.replace("\u200b", "")  # defused links and addresses, made whole again
    return set(re.findall(r"[A-Za-z]{3,}", re.sub(r"\S+://\S+|\S+@\S+", " ", text)))


@pytest.mark.parametrize("kind", KINDS)
def test_each_mail_kind_renders_in_english_and_in_german_without_english_left(kind, settings):
    settings.SITE_URL = "https://s.example.org"
    context = _context()
    en = compose.render(kind, "en", context)
    de = compose.render(kind, "de", context)
    assert de != en
    data = _words(" ".join(str(v) for v in vars_of(context)))
    english = _words(" ".join(en[:2])) - data - SHARED
    assert english, "the English mail has words of its own"
    assert not english & _words(" ".join(de[:2])), f"English words in the German {kind} mail: {english & _words(' '.join(de[:2]))}"
    assert '<html lang="de">' in de[2]
    assert not {"This", "message", "sent"} & _words(re.sub(r"<[^>]+>", " ", de[2]))


def vars_of(context: dict) -> list:
    """All strings in the context, however deep (the data the mail shows, not its own words)."""
    out: list = []

    def walk(value) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif isinstance(value, N):
            walk(vars(value))

    walk(context)
    return out


def test_update_changes_and_answers_are_told_in_german(standalone, guest, send):
    from events.services import meeting_update

    guest.language = "de"
    guest.save(update_fields=["language"])
    meeting = standalone(online_url="https://meet.example.org/lab")
    send()
    meeting_update(meeting=meeting, title="Forschungskooperation")
    mail = next(m for m in send() if m["To"].addresses[0].addr_spec == guest.email)
    body = text_part(mail)
    assert subject(mail).startswith("Geändert: Forschungskooperation")
    assert "Titel „Cross-border R&D cooperation“ → „Forschungskooperation“" in body
    assert "Zusagen:" in body and "Accept" not in body


def test_a_german_invite_has_a_german_description_and_the_feed_stays_as_it_was(standalone, guest, host, send):
    guest.language = "de"
    guest.save(update_fields=["language"])
    meeting = standalone(online_url="https://meet.example.org/lab")
    feed_before = ical.render_feed(meetings_data(meeting_list().filter(pk=meeting.pk)), name="x")
    mails = {m["To"].addresses[0].addr_spec: m for m in send()}
    german, _method = calendar_part(mails[guest.email])
    english, _method = calendar_part(mails[host.email])
    assert b"Online teilnehmen: https://meet.example.org/lab" in german
    assert b"LABEL=Online teilnehmen" in german
    assert b"Join online: https://meet.example.org/lab" in english and b"Online teilnehmen" not in english
    assert subject(mails[guest.email]).startswith("Einladung:")
    # Feeds are shared by all subscribers: one language whatever the request's, same bytes.
    with translation.override("de"):
        feed_german_request = ical.render_feed(meetings_data(meeting_list().filter(pk=meeting.pk)), name="x")
    assert _without_stamp(feed_german_request) == _without_stamp(feed_before)
    assert b"Join online:" in feed_before


def _without_stamp(data: bytes) -> bytes:
    return re.sub(rb"DTSTAMP:[^\r\n]+", b"", data)


def test_every_kind_has_a_builder():
    assert set(compose.BUILDERS) == set(Kind)
