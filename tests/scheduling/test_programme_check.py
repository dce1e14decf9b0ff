"""The programme check where coordinators read it: the proposal API and page, a hand edit's API answer,
the visit page; and what the solver does to keep the rules (merging one host's topics, leaving out an
optional expert who is away — and saying so — and skipping holidays).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from availability import services as availability_services
from directory.models import Topic
from events.models import Meeting, Room
from scheduling.models import Proposal
from scheduling.programme import visit_days
from visits import rules
from visits.models import ProgrammeKind, Visit

from .test_demo_flow import BERLIN

pytestmark = pytest.mark.django_db


def propose(centre) -> dict:
    response = centre.client().post(f"/api/v1/visits/{centre.visit.pk}/proposals/", {"time_limit_seconds": 5},
                                    format="json")
    assert response.status_code == 201, response.content
    return response.json()


def kept(check: list[dict]) -> dict[str, bool]:
    return {r["rule"]: r["kept"] for r in check}


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # the demo users exist only in DEBUG
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with translation.override("en"):
        call_command("load_demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    api = APIClient()
    user = get_user_model().objects.get(username="coordinator")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def test_the_demo_request_proposal_passes_every_rule_with_no_hand_edits(demo):
    visit = Visit.objects.get(status=Visit.Status.REQUESTED)
    created = demo.post(f"/api/v1/visits/{visit.pk}/proposals/", {}, format="json")
    assert created.status_code == 201, created.content
    proposal = demo.get(f"/api/v1/proposals/{created.json()['id']}/").json()
    assert proposal["unplaced"] == []
    check = proposal["programme_check"]
    assert [r["rule"] for r in check] == list(rules.RULE_IDS)
    assert all(r["kept"] for r in check), [v["message"] for r in check for v in r["violations"]]
    items = {i["key"]: i for i in proposal["items"]}
    lunches = [i for k, i in items.items() if k.startswith("lunch-")]
    cafeteria = Room.objects.get(name="Cafeteria")
    assert lunches and all(i["room"] == cafeteria.pk for i in lunches)  # the dining room, not a free text
    assert items["wrap-up"]["starts_at"] >= max(i["ends_at"] for i in lunches)


def test_a_hand_edit_that_breaks_a_rule_is_saved_and_its_answer_says_which(demo):
    visit = Visit.objects.get(status=Visit.Status.CONFIRMED)
    welcome = Meeting.objects.get(programme_slot__visit=visit, programme_slot__kind=ProgrammeKind.WELCOME)
    day = welcome.starts_at.astimezone(BERLIN).date()
    etag = demo.get(f"/api/v1/meetings/{welcome.pk}/")["ETag"]
    moved = demo.post(f"/api/v1/meetings/{welcome.pk}/reschedule/", {
        "starts_at": f"{day}T15:00:00+01:00", "ends_at": f"{day}T15:30:00+01:00"}, format="json",
        HTTP_IF_MATCH=etag)
    assert moved.status_code == 200, moved.content  # saved: the rules warn, they do not refuse
    check = moved.json()["programme_check"]
    assert kept(check)[rules.WELCOME_FIRST] is False
    [rule] = [r for r in check if r["rule"] == rules.WELCOME_FIRST]
    assert any(f"meeting-{welcome.pk}" in v["entries"] for v in rule["violations"])
    # A list does not carry it; a meeting outside any programme answers null.
    listed = demo.get("/api/v1/meetings/").json()["results"]
    assert all(m["programme_check"] is None for m in listed)
    standalone = Meeting.objects.filter(programme_slot__isnull=True).first()
    assert demo.get(f"/api/v1/meetings/{standalone.pk}/").json()["programme_check"] is None

    client = Client()
    assert client.login(username="coordinator", password="demo")
    page = client.get(f"/staff/visits/{visit.pk}/").content.decode()
    assert 'data-testid="programme-check"' in page
    assert f'data-rule="{rules.WELCOME_FIRST}"' in page


def test_the_proposal_page_shows_the_check(centre):
    proposal = propose(centre)
    client = Client()
    client.force_login(centre.coordinator)
    page = client.get(f"/staff/visits/{centre.visit.pk}/proposal/?proposal={proposal['id']}").content.decode()
    assert page.count('data-testid="rule"') == len(rules.RULE_IDS)
    assert kept(proposal["programme_check"]) == dict.fromkeys(rules.RULE_IDS, True)


def test_an_optional_expert_who_is_away_is_not_invited_and_the_reason_names_them(centre):
    availability_services.absence_create(person=centre.dana, starts_at=centre.at(0, 0), ends_at=centre.at(2, 0))
    items = {i["key"]: i for i in propose(centre)["items"]}
    cell = items["topic-cell-therapeutics"]
    assert centre.dana.pk not in {p["person"] for p in cell["participants"]}
    assert "not invited: Dr. Dana Wolf is away that day" in cell["reason"]


def test_topics_with_one_host_become_one_session_and_are_booked_with_both_topics(centre):
    eureka = Topic.objects.create(name="Eureka", slug="eureka", meeting_minutes=60)
    centre.cem.expertise.add(eureka)
    centre.visit.topics.add(eureka)
    proposal = propose(centre)
    items = {i["key"]: i for i in proposal["items"]}
    merged = items["topic-horizon-2020--eureka"]
    assert merged["title"] == "EU funding: Horizon 2020 and Eureka"
    assert all(r["kept"] for r in proposal["programme_check"])
    response = centre.client().post(f"/api/v1/proposals/{proposal['id']}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    meeting = Meeting.objects.get(pk=Proposal.objects.get(pk=proposal["id"]).items.get(key=merged["key"]).meeting_id)
    assert [a.topic.slug for a in meeting.agenda_items.all()] == ["horizon-2020", "eureka"]


def test_an_item_left_out_says_which_rule_blocked_it(centre):
    centre.visit.topics.add(Topic.objects.create(name="Xenotransplantation", slug="xeno", meeting_minutes=60))
    unplaced = {u["key"]: u for u in propose(centre)["unplaced"]}
    assert unplaced["topic-xeno"]["blocked_by"] == "expertise"


def test_a_visit_over_a_public_holiday_at_the_venue_skips_it(centre):
    venue = centre.visit.venue
    venue.subdivision = "BE"
    venue.save()
    Visit.objects.filter(pk=centre.visit.pk).update(starts_on=date(2027, 3, 8), ends_on=date(2027, 3, 9))
    visit = Visit.objects.get(pk=centre.visit.pk)
    assert visit_days(visit) == [date(2027, 3, 9)]  # Women's Day in Berlin is left out
    everything = Visit.objects.filter(pk=visit.pk)
    everything.update(ends_on=date(2027, 3, 8))
    assert visit_days(Visit.objects.get(pk=visit.pk)) == [date(2027, 3, 8)]  # nothing else: kept, and reported
