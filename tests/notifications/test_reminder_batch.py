"""Reminders in bulk: rendered once per (meeting, language) and filled per person — and still byte for
byte the mail the one-by-one path makes for each reader."""

from __future__ import annotations

import re

import pytest
import time_machine

from events.services import AgendaSpec
from notifications import compose, dispatch, links
from notifications.models import Kind, OutboxMessage
from tests.factories import PersonFactory, RoomFactory

from .conftest import berlin

pytestmark = pytest.mark.django_db

#: Names people type: a comma, quotes and angle brackets, a link, a domain, accents and an emoji.
NAMES = [
    ("Müller, Anna", "de", "Europe/Berlin"),
    ('Sean "the host" O\'Brien <ceo>', "en", "America/New_York"),
    ("https://phish.example/login", "en", "Europe/Berlin"),
    ("www.phish.example", "de", "Asia/Tokyo"),
    ("Zoë 🎉 Ångström", "en", "Europe/Berlin"),
    ("Plain Host", "de", "America/New_York"),
]


@pytest.fixture
def hosted(standalone):
    """A meeting with six hosts of every kind of name, language and time zone, and its reminders due."""
    people = [PersonFactory(name=name, email=f"host{i}@example.org", language=lang, timezone=tz)
              for i, (name, lang, tz) in enumerate(NAMES)]
    with time_machine.travel(berlin(2026, 5, 4, 8, 0), tick=False):
        meeting = standalone(start=berlin(2026, 5, 4, 10, 0), people=[(p, "host") for p in people],
                             description="See www.example.com and https://example.org/x.",
                             online_url="https://meet.example/abc",
                             agenda_items=[AgendaSpec(title="Welcome", minutes=10, presenter=people[0]),
                                           AgendaSpec(title="Tour")])
    return meeting, people


def _due_rows():
    rows = list(OutboxMessage.objects.filter(kind=Kind.REMINDER, offset_minutes=60).select_related("person")
                .order_by("id"))
    compose.preload(rows)
    return rows


def test_each_reader_gets_exactly_the_mail_the_one_by_one_path_makes(hosted, monkeypatch):
    meeting, people = hosted
    with time_machine.travel(berlin(2026, 5, 4, 8, 0), tick=False) as clock:
        dispatch.dispatch_due(do_reconcile=True, transport=_Null())  # invites out, reminders owed
        clock.move_to(berlin(2026, 5, 4, 9, 0, 30))
        rows = _due_rows()
        assert len(rows) == len(people)
        shared_renderings = []
        real = compose.SharedRendering

        def counting(*args, **kwargs):
            shared_renderings.append(args[:2])
            return real(*args, **kwargs)

        monkeypatch.setattr(compose, "SharedRendering", counting)
        batch = compose.build_reminders(rows)
        # Once per (meeting, language): two languages among the six readers.
        assert sorted(shared_renderings) == [("reminder", "de"), ("reminder", "en")]
        assert set(batch) == {row.pk for row in rows}
        for row in rows:
            one = compose.build_message(row)
            assert batch[row.pk] == one  # subject, text, HTML and headers, character for character
            person = row.person
            text = one.text
            # The reader's own fields: name (defused where it looks like a link), language, zone, links.
            if person.language == "de":
                assert text.startswith("Guten Tag") or text.startswith("Hallo")
            else:
                assert text.startswith("Dear ")
            opt_out = links.opt_out_url(person_id=person.pk)
            assert opt_out in text and opt_out in one.html
            assert links.read_opt_out_token(opt_out.rstrip("/").rsplit("/", 1)[1]) == person.pk
            assert f"/calendars/meetings/{meeting.pk}/" in text
            if person.timezone == "America/New_York":
                assert "America/New_York" in text
        assert "https://phish.example/login" not in batch[rows[2].pk].text  # defused, as one by one
        assert "https://meet.example/abc" in batch[rows[0].pk].text  # the meeting's own link stays


def _normalised(data: bytes) -> bytes:
    boundaries = sorted(set(re.findall(rb'boundary="([^"]+)"', data)))
    for i, boundary in enumerate(boundaries):
        data = data.replace(boundary, b"BOUNDARY%d" % i)
    return re.sub(rb"\r\nDate: [^\r]+\r\n", b"\r\nDate: D\r\n", data)


class _Null:
    """A transport that accepts everything (these tests look at what would be sent)."""

    def send(self, message):
        message.message()

    def close(self):
        pass


def test_meetings_of_one_shape_share_one_rendering_and_keep_their_own_words(standalone, room, monkeypatch):
    titles = ["Visit of www.evil.example", "Lab tour <b>Zellkultur</b>", "Müller & Söhne: Kooperation"]
    with time_machine.travel(berlin(2026, 5, 4, 8, 0), tick=False) as clock:
        for i, title in enumerate(titles):
            host = PersonFactory(name=f"Host {i}", email=f"h{i}@example.org", language="en")
            standalone(start=berlin(2026, 5, 4, 10, i * 15), people=[(host, "host")], title=title,
                       description=f"Topic {i}: see https://example.org/{i}",
                       room={0: room, 1: None, 2: RoomFactory(name="Room C")}[i],
                       location="Hall 7" if i == 1 else "")
        dispatch.dispatch_due(transport=_Null())
        clock.move_to(berlin(2026, 5, 4, 9, 31))
        rows = _due_rows()
        assert len(rows) == 3
        count = []
        real = compose.SharedRendering
        monkeypatch.setattr(compose, "SharedRendering", lambda *a, **k: count.append(1) or real(*a, **k))
        batch = compose.build_reminders(rows)
        assert len(count) == 1  # three meetings, one rendering
        for row in rows:
            one = compose.build_message(row)
            assert batch[row.pk] == one
            assert one.subject.startswith("Reminder: ")
        assert "Lab tour <b>Zellkultur</b>" in batch[rows[1].pk].subject
        assert "Lab tour &lt;b&gt;Zellkultur&lt;/b&gt;" in batch[rows[1].pk].html
        assert "www.evil.example" not in batch[rows[0].pk].subject  # defused as one by one
        assert "Hall 7" in batch[rows[1].pk].text and "Room C" in batch[rows[2].pk].text
