"""The programme document (``visits.programme_document``): the PDF read back with pypdf.

Every meeting's time, title and room must be in the PDF, in English and in German; each day starts a
new page and no meeting is split across two; the venue's directions, the coordinator's phone, the
hosts' job titles and the delegation are in it; the PDF is cached per programme version and language.
"""

from __future__ import annotations

import io
import re
import zoneinfo
from datetime import timedelta

import pytest
from pypdf import PdfReader

from visits import booking
from visits import programme_document as document
from visits.programme_document import programme_pdf

from ..support.programmes import LONG_PROGRAMME, build_long_programme

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def long_programme():
    return build_long_programme()


def norm(text: str) -> str:
    """Text as compared here: without whitespace and without the hyphens a line break added, so a title
    wrapped (and hyphenated) in the PDF compares equal to the title as typed."""
    return re.sub(r"[\s\u2010\u00ad]", "", text)


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text, normalised (``norm``)."""
    return [norm(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    return norm(text)


def page_of(pages: list[str], needle: str) -> list[int]:
    return [number for number, text in enumerate(pages) if norm(needle) in text]


def contains(text: str, needle: str) -> bool:
    return norm(needle) in text


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_pdf_holds_every_meetings_time_title_and_room(long_programme, lang):
    pdf, _version = programme_pdf(long_programme.visit, lang=lang)
    assert pdf.startswith(b"%PDF-")
    pages = pages_text(pdf)
    whole = " ".join(pages)
    for meeting in long_programme.meetings:
        start, end = meeting.starts_at.astimezone(BERLIN), meeting.ends_at.astimezone(BERLIN)
        time = f"{start:%H:%M}–{end:%H:%M}"
        title = squash(meeting.title)
        found = [n for n in page_of(pages, title) if contains(pages[n], time) and contains(pages[n], meeting.room.name)]
        assert found, f"{lang}: {time} {title} in {meeting.room.name} is not on any page"
        unique = not any(title in squash(other.title) for other in long_programme.meetings if other != meeting)
        if unique:  # ("Mittagessen" is also part of two longer titles)
            assert len(page_of(pages, title)) == 1, f"{lang}: “{title}” is split across or repeated on pages"
    # What the reader needs besides the table.
    assert contains(whole, long_programme.venue.directions.split(".")[0])
    assert contains(whole, "+49 30 9406 2711") and contains(whole, "s.krueger@campus.example")
    assert contains(whole, "Wissenschaftliche Direktorin") and contains(whole, "Leiter Zelltherapielabor")
    for member in long_programme.members:
        assert contains(whole, member.name)
    assert contains(whole, "https://meet.example.org/campus-delegation")
    assert whole.count("Europe/Berlin") == 1, "the time zone is stated once"


def test_english_and_german_come_from_the_same_template(long_programme):
    english = " ".join(pages_text(programme_pdf(long_programme.visit, lang="en")[0]))
    german = " ".join(pages_text(programme_pdf(long_programme.visit, lang="de")[0]))
    first_day = long_programme.days[0]
    assert contains(english, "All times are local time at the venue") and contains(english, "How to get there")
    assert contains(german, "Alle Zeiten sind Ortszeit am Veranstaltungsort") and contains(german, "Anfahrt")
    assert not contains(german, "How to get there")
    months_en = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"]
    assert contains(english, f"{first_day.day} {months_en[first_day.month - 1]} {first_day.year}")
    months_de = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                 "November", "Dezember"]
    assert contains(german, f"{first_day.day}. {months_de[first_day.month - 1]} {first_day.year}"), "the day's dot"


def test_each_day_starts_a_new_page_and_it_is_a4(long_programme):
    pdf, _ = programme_pdf(long_programme.visit, lang="de")
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842), "A4 in points"
    pages = pages_text(pdf)
    first_titles = {}
    for day_index in range(3):
        title = squash(next(t for d, _s, _m, t, _r in LONG_PROGRAMME if d == day_index))
        first_titles[day_index] = page_of(pages, title)[0]
    assert first_titles[0] < first_titles[1] < first_titles[2]
    for day_index in (1, 2):
        # The day's first meeting is on a page that shows nothing of the day before.
        earlier = [squash(t) for d, _s, _m, t, _r in LONG_PROGRAMME if d == day_index - 1]
        assert not any(contains(pages[first_titles[day_index]], t) for t in earlier)


def test_the_pdf_is_cached_per_programme_version_and_language(long_programme, monkeypatch):
    calls = []
    real = document.render_pdf
    monkeypatch.setattr(document, "render_pdf", lambda html: calls.append(1) or real(html))
    visit = long_programme.visit
    first, version = programme_pdf(visit, lang="en")
    again, same = programme_pdf(visit, lang="en")
    assert (again, same) == (first, version) and len(calls) == 1
    programme_pdf(visit, lang="de")
    assert len(calls) == 2, "another language is another document"
    meeting = long_programme.meetings[0]
    booking.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at - timedelta(minutes=30),
                               ends_at=meeting.ends_at - timedelta(minutes=30), booker=booking.COORDINATOR,
                               override=True)
    moved, newer = programme_pdf(visit, lang="en")
    assert newer != version and len(calls) == 3
    assert contains(" ".join(pages_text(moved)), "08:30–09:00")


def test_a_cancelled_meeting_leaves_the_document(long_programme):
    cancelled = long_programme.meetings[5]
    booking.meeting_cancel(meeting=cancelled)
    text = " ".join(pages_text(programme_pdf(long_programme.visit, lang="en")[0]))
    assert not contains(text, cancelled.title)
    assert contains(text, long_programme.meetings[4].title)


def test_an_unknown_language_is_a_field_error():
    from core.errors import ValidationFailed

    assert document.requested_language(None) is None
    assert document.requested_language("DE") == "de"
    with pytest.raises(ValidationFailed) as error:
        document.requested_language("fr")
    assert error.value.field == "lang"
