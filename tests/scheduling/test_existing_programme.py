"""A proposal builds on what the visit's programme already has, and speaks the coordinator's language.

The lead's finding: on a visit that already had "Welcome and introductions" at 09:00 and "Horizon 2020
consortium ideas" at 11:30, a proposal offered a second welcome and a second Horizon 2020 meeting.
"""

from __future__ import annotations

import importlib
import re
from datetime import datetime

import pytest
from django.test import Client
from django.utils import translation

from availability import services as availability_services
from directory.models import Topic
from events.models import Meeting, Participation
from events.services import AgendaSpec, ParticipantSpec, meeting_cancel
from scheduling.programme import names_topic
from visits import booking
from visits.models import ProgrammeKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def book(centre, title, day, start, end, *, host=None, room=None, kind=Meeting.Kind.MEETING, agenda=(), part=""):
    staff = [ParticipantSpec(person=host, role=Participation.Role.HOST)] if host else []
    return booking.meeting_create(
        visit=centre.visit, title=title, starts_at=centre.at(day, *start), ends_at=centre.at(day, *end),
        room=room or centre.seminar, kind=kind, participants=staff, agenda_items=list(agenda), programme_kind=part,
    )


def propose(centre, **headers) -> dict:
    response = centre.client().post(f"/api/v1/visits/{centre.visit.pk}/proposals/", {"time_limit_seconds": 5},
                                    format="json", **headers)
    assert response.status_code == 201, response.content
    return response.json()


def overlaps(a: dict, meeting: Meeting) -> bool:
    return datetime.fromisoformat(a["starts_at"]) < meeting.ends_at and meeting.starts_at < datetime.fromisoformat(
        a["ends_at"])


def test_booked_welcome_and_topic_meeting_are_not_proposed_again(centre):
    welcome = book(centre, "Welcome and introductions", 0, (9, 0), (9, 30), part=ProgrammeKind.WELCOME)
    h2020 = book(centre, "Horizon 2020 consortium ideas", 0, (11, 30), (12, 30), host=centre.cem)

    proposal = propose(centre)

    keys = {i["key"] for i in proposal["items"]} | {u["key"] for u in proposal["unplaced"]}
    assert "welcome" not in keys and "topic-horizon-2020" not in keys
    assert {"topic-cell-therapeutics", "topic-stem-cell-rd", "wrap-up"} <= keys
    assert sum(k.startswith("lunch-") for k in keys) == 2  # the booked meetings are no lunch
    covered = {c["covers"]: c for c in proposal["already_in_programme"]}
    assert covered["topic"]["topic"] == Topic.objects.get(slug="horizon-2020").pk
    assert covered["topic"]["meeting"] == h2020.pk and covered["welcome"]["meeting"] == welcome.pk
    day = centre.tuesday.strftime("%a")
    assert covered["topic"]["text"] == f"already in the programme: Horizon 2020 consortium ideas, {day} 11:30"
    assert covered["welcome"]["text"] == f"already in the programme: Welcome and introductions, {day} 09:00"
    # The delegation is in both booked meetings: nothing proposed for them overlaps those.
    for item in proposal["items"]:
        assert not overlaps(item, welcome) and not overlaps(item, h2020), item["key"]
    # Topics still come before the wrap-up (the order rules without the welcome).
    items = {i["key"]: i for i in proposal["items"]}
    assert all(items[k]["ends_at"] <= items["wrap-up"]["starts_at"] for k in items if k.startswith("topic-"))


def test_an_agenda_item_covers_its_topic_and_a_lunch_covers_that_day_only(centre):
    stem = Topic.objects.get(slug="stem-cell-rd")
    book(centre, "Lab visit", 0, (10, 0), (11, 0), host=centre.ben,
         agenda=[AgendaSpec(title="Organoids", topic=stem, presenter=centre.ben, minutes=30)])
    book(centre, "Lunch with the director", 0, (12, 0), (13, 0), kind=Meeting.Kind.MEAL, part=ProgrammeKind.LUNCH)
    book(centre, "Farewell coffee", 1, (15, 0), (15, 30), part=ProgrammeKind.WRAP_UP)

    keys = {i["key"] for i in propose(centre)["items"]}

    assert "topic-stem-cell-rd" not in keys and "topic-cell-therapeutics" in keys
    assert f"lunch-{centre.tuesday.isoformat()}" not in keys
    assert f"lunch-{centre.at(1, 9).date().isoformat()}" in keys
    assert "wrap-up" not in keys and "welcome" in keys


def test_a_cancelled_meeting_covers_nothing(centre):
    meeting = book(centre, "Horizon 2020 consortium ideas", 0, (11, 30), (12, 30), host=centre.cem)
    meeting_cancel(meeting=meeting)

    proposal = propose(centre)

    assert "topic-horizon-2020" in {i["key"] for i in proposal["items"]}
    assert proposal["already_in_programme"] == []


@pytest.mark.parametrize("title, named", [
    ("Horizon 2020 consortium ideas", True),
    ("EU funding: Horizon 2020", True),
    ("eu funding workshop", True),
    ("Horizon 20201 draft", False),
    ("Cell therapy lab tour", False),
])
def test_a_title_names_a_topic_by_its_name_or_a_part_of_it(title, named):
    assert names_topic(title, Topic(name="EU funding: Horizon 2020")) is named


def test_the_page_lists_what_is_already_in_the_programme(centre):
    book(centre, "Horizon 2020 consortium ideas", 0, (11, 30), (12, 30), host=centre.cem)
    client = Client()
    client.force_login(centre.coordinator)
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    page = client.get(client.post(f"{url}new/")["Location"]).content.decode()
    assert "Already in the programme (not proposed again)" in page
    assert "already in the programme: Horizon 2020 consortium ideas" in page
    assert page.count('data-testid="covered-item"') == 1


# --- German -------------------------------------------------------------------------------------

ENGLISH_LABELS = ["Programme proposal", "Propose programme", "Propose again from scratch", "Open in planner",
                  "Accept and book", "Re-solve", "Pin here", "Remove<", "Not placed", "items placed",
                  "solved in", "Already in the programme", "already in the programme", "expertise in",
                  "also invited", ": fits", "seats)", "opens the visit", "closes the visit", "lunch for the",
                  "nobody has expertise", "guests<", ">Draft<"]


def test_the_proposal_page_in_german_has_no_english_labels_left(centre):
    book(centre, "Horizon 2020 consortium ideas", 0, (11, 30), (12, 30), host=centre.cem)
    centre.visit.topics.add(Topic.objects.create(name="Xenotransplantation", slug="xeno", meeting_minutes=60))
    client = Client()
    client.force_login(centre.coordinator)
    client.cookies["django_language"] = "de"
    visit_page = client.get(f"/staff/visits/{centre.visit.pk}/").content.decode()
    assert "Programm vorschlagen" in visit_page and "Propose programme" not in visit_page
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    empty = client.get(url).content.decode()
    assert "Programmvorschlag" in empty and "Nothing is booked until you accept" not in empty
    created = client.post(f"{url}new/")
    page = client.get(created["Location"]).content.decode()

    left = [label for label in ENGLISH_LABELS if label in page]
    assert left == [], left
    for german in ["Annehmen und buchen", "Neu berechnen", "Hier fixieren", "Nicht eingeplant", "Expertise in",
                   "passt für", "Plätze)", "Mittagessen für die Delegation", "niemand hat Expertise in Xeno",
                   "schon im Programm: Horizon 2020 consortium ideas, Di 11:30", "Entwurf"]:
        assert german in page, german
    # The same stored proposal reads in English for an English-speaking coordinator.
    client.cookies["django_language"] = "en"
    english = client.get(created["Location"]).content.decode()
    assert "Accept and book" in english and "expertise in Cell therapeutics" in english


def test_solver_reasons_are_stored_in_every_language(centre):
    """An unplaced item's reason comes from the solver: both languages, the API answers in the request's."""
    availability_services.absence_create(person=centre.cem, starts_at=centre.at(0, 0), ends_at=centre.at(2, 0))

    german = propose(centre, HTTP_ACCEPT_LANGUAGE="de")
    english = centre.client().get(f"/api/v1/proposals/{german['id']}/", HTTP_ACCEPT_LANGUAGE="en").json()

    reason_de = next(u["reason"] for u in german["unplaced"] if u["key"] == "topic-horizon-2020")
    reason_en = next(u["reason"] for u in english["unplaced"] if u["key"] == "topic-horizon-2020")
    assert reason_de.startswith("Dr. Cem Aydin hat an keinem der Tage 1 Std. frei"), reason_de
    assert reason_en.startswith("Dr. Cem Aydin is not free for 1 h on any of the days"), reason_en
    placed_de = next(i["reason"] for i in german["items"] if i["key"] == "topic-cell-therapeutics")
    assert re.search(r"Expertise in Cell therapeutics; frei (Di|Mi) \d\d:\d\d–\d\d:\d\d", placed_de), placed_de


def test_refusals_on_the_page_are_in_german_too(centre):
    centre.visit.topics.add(Topic.objects.create(name="Xenotransplantation", slug="xeno", meeting_minutes=60))
    client = Client()
    client.force_login(centre.coordinator)
    client.cookies["django_language"] = "de"
    url = f"/staff/visits/{centre.visit.pk}/proposal/"
    client.post(f"{url}new/")
    proposal = centre.visit.proposals.get()
    dead = proposal.items.get(key="topic-xeno")
    refused = client.post(f"{url}{proposal.pk}/items/{dead.pk}/", {"action": "pin"}, follow=True)
    assert "Nur ein eingeplanter Punkt kann fixiert werden." in refused.content.decode()


@pytest.mark.parametrize("title, kind, role", [
    ("Welcome and introductions", Meeting.Kind.MEETING, "welcome"),
    ("Begrüßung der Delegation", Meeting.Kind.MEETING, "welcome"),
    ("Introduction to organoids", Meeting.Kind.TALK, ""),
    ("Lunch", Meeting.Kind.MEAL, "lunch"),
    ("Working lunch with the grants office", Meeting.Kind.MEETING, "lunch"),
    ("Conference dinner", Meeting.Kind.MEAL, ""),
    ("Wrap-up and next steps", Meeting.Kind.MEETING, "wrap-up"),
    ("Closing the gap in GMP manufacturing", Meeting.Kind.TALK, ""),
])
def test_the_migration_guesses_the_part_of_existing_slots_from_their_titles_once(title, kind, role):
    """The title guess is no longer asked at run time; ``visits.0003`` applies it once to existing slots."""
    migration = importlib.import_module("visits.migrations.0003_i18_programme_slot_kind")

    assert migration.guessed_kind(title, kind) == role


def test_a_title_alone_makes_no_meeting_the_welcome(centre):
    """Parts are stored, not guessed: "Willkommen" booked as an ordinary meeting leaves the welcome to propose."""
    book(centre, "Willkommen und Vorstellung", 0, (9, 0), (9, 30))
    book(centre, "Mittagessen", 0, (12, 0), (13, 0), kind=Meeting.Kind.MEAL)

    proposal = propose(centre)

    keys = {i["key"] for i in proposal["items"]} | {u["key"] for u in proposal["unplaced"]}
    assert "welcome" in keys and f"lunch-{centre.tuesday.isoformat()}" in keys
    assert proposal["already_in_programme"] == []


def test_a_german_titled_welcome_booked_as_the_welcome_counts_as_one(centre):
    welcome = book(centre, "Begrüßung der Delegation", 0, (9, 0), (9, 30), part=ProgrammeKind.WELCOME)

    proposal = propose(centre)

    keys = {i["key"] for i in proposal["items"]} | {u["key"] for u in proposal["unplaced"]}
    assert "welcome" not in keys
    assert [(c["covers"], c["meeting"]) for c in proposal["already_in_programme"]] == [("welcome", welcome.pk)]
