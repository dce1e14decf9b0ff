"""Staff pages: who may see which visit, the coordinator's decisions, a host's RSVPs and feed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from directory.models import Person
from events.models import Participation
from tests.factories import UserFactory
from visits.models import Visit

from .conftest import host_user, request_visit


@pytest.fixture
def coordinator(db):
    return UserFactory(username="coord", is_staff=True)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/staff/", "/staff/my-meetings/", "/staff/visits/1/"])
def test_staff_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.django_db
def test_login_page_signs_in_and_logout_is_post_only(client):
    UserFactory(username="coordinator", password="correct-horse-42")
    bad = client.post(reverse("web:login"), {"username": "coordinator", "password": "nope"})
    assert bad.status_code == 200
    assert "correct username and password" in bad.content.decode()
    good = client.post(reverse("web:login"), {"username": "coordinator", "password": "correct-horse-42"})
    assert good["Location"] == reverse("web:staff-home")
    assert client.get(reverse("web:logout")).status_code == 405
    assert client.post(reverse("web:logout"))["Location"] == reverse("web:home")


@pytest.mark.django_db
def test_coordinator_sees_and_filters_all_visits(client, coordinator, confirmed_visit):
    pending = request_visit(email="someone@baltic.example")
    client.force_login(coordinator)
    body = client.get("/staff/").content.decode()
    assert confirmed_visit.reference in body and pending.reference in body
    only_requested = client.get("/staff/", {"status": "requested"}).content.decode()
    assert pending.reference in only_requested and confirmed_visit.reference not in only_requested
    searched = client.get("/staff/", {"q": confirmed_visit.reference}).content.decode()
    assert confirmed_visit.reference in searched and pending.reference not in searched
    assert client.get("/staff/", {"status": "bogus"}).status_code == 200  # an invalid filter is ignored, not a 500


@pytest.mark.django_db
def test_a_host_sees_only_visits_they_take_part_in_and_others_are_404(client, confirmed_visit):
    pending = request_visit(email="someone@baltic.example")
    client.force_login(confirmed_visit.anna.user)
    listing = client.get("/staff/").content.decode()
    assert confirmed_visit.reference in listing and pending.reference not in listing
    assert client.get(f"/staff/visits/{confirmed_visit.pk}/").status_code == 200
    assert client.get(f"/staff/visits/{pending.pk}/").status_code == 404
    # a host cannot decide
    assert client.post(f"/staff/visits/{pending.pk}/confirm/", {}).status_code == 404
    assert client.post(f"/staff/visits/{pending.pk}/decline/", {}).status_code == 404
    pending.refresh_from_db()
    assert pending.status == Visit.Status.REQUESTED


@pytest.mark.django_db
def test_a_user_without_person_or_staff_sees_nothing(client, confirmed_visit):
    client.force_login(UserFactory(username="outsider", is_staff=False))
    assert confirmed_visit.reference not in client.get("/staff/").content.decode()
    assert client.get(f"/staff/visits/{confirmed_visit.pk}/").status_code == 404
    assert client.get("/staff/my-meetings/").status_code == 404


@pytest.mark.django_db
def test_the_visit_page_draws_the_programme_as_a_day_timeline(client, coordinator, confirmed_visit):
    client.force_login(coordinator)
    body = client.get(f"/staff/visits/{confirmed_visit.pk}/").content.decode()
    assert body.count('data-testid="timeline-block"') == 3
    assert "Board room" in body and "Lab 1" in body
    grid = body.split('class="timeline"')[1].split("</section>")[0]
    assert "conflict" not in grid.replace("conflict-", "")
    assert 'style="' not in body  # a strict Content-Security-Policy: the planner script places the blocks
    assert body.count('<button type="button" id="block-') == 3  # coordinators get editable blocks


@pytest.mark.django_db
def test_coordinator_confirms_and_declines(client, coordinator):
    client.force_login(coordinator)
    visit = request_visit()
    window = visit.preferred_windows.first()
    wrong = client.post(f"/staff/visits/{visit.pk}/confirm/", {"starts_on": window.end, "ends_on": window.start})
    assert wrong.status_code == 400
    assert "The last day is before the first day." in wrong.content.decode()
    ok = client.post(f"/staff/visits/{visit.pk}/confirm/", {"starts_on": window.start, "ends_on": window.start})
    assert ok.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.starts_on) == (Visit.Status.CONFIRMED, window.start)
    # a confirmed visit cannot be declined: 409 with the reason, not a 500
    refused = client.post(f"/staff/visits/{visit.pk}/decline/", {"reason": "late"})
    assert refused.status_code == 409
    assert "cannot become declined" in refused.content.decode()

    other = request_visit(email="b@example.org")
    assert client.post(f"/staff/visits/{other.pk}/decline/", {"reason": "No capacity"}).status_code == 302
    other.refresh_from_db()
    assert (other.status, other.decision_note) == (Visit.Status.DECLINED, "No capacity")


@pytest.mark.django_db
def test_a_host_answers_rsvps_only_for_their_own_participations(client, confirmed_visit):
    anna = confirmed_visit.anna
    client.force_login(anna.user)
    page = client.get("/staff/my-meetings/").content.decode()
    assert "Welcome and introductions" in page and "Horizon 2020 consortium ideas" in page
    assert "Lab tour: organoids" not in page  # Ben's meeting
    mine = Participation.objects.get(person=anna, meeting__title="Welcome and introductions")
    response = client.post(reverse("web:rsvp", kwargs={"pk": mine.pk}), {"answer": "accepted"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.rsvp == Participation.Rsvp.ACCEPTED and mine.responded_at
    bad = client.post(reverse("web:rsvp", kwargs={"pk": mine.pk}), {"answer": "needs-action"})
    assert bad.status_code == 302
    mine.refresh_from_db()
    assert mine.rsvp == Participation.Rsvp.ACCEPTED
    bens = Participation.objects.get(person=confirmed_visit.ben, meeting__title="Lab tour: organoids")
    assert client.post(reverse("web:rsvp", kwargs={"pk": bens.pk}), {"answer": "declined"}).status_code == 404
    bens.refresh_from_db()
    assert bens.rsvp == Participation.Rsvp.NEEDS_ACTION


@pytest.mark.django_db
def test_a_host_rotates_the_personal_feed_link(client, confirmed_visit):
    anna = confirmed_visit.anna
    client.force_login(anna.user)
    old = anna.feed_token
    assert old in client.get("/staff/my-meetings/").content.decode()
    assert client.get(reverse("web:rotate-feed")).status_code == 405
    client.post(reverse("web:rotate-feed"))
    anna.refresh_from_db()
    assert anna.feed_token != old
    page = client.get("/staff/my-meetings/").content.decode()
    assert anna.feed_token in page and old not in page
    assert "webcal://" in page


@pytest.mark.django_db
def test_a_host_cannot_rotate_someone_elses_link(client, db):
    ben = host_user("ben2", "Ben")
    other = Person.objects.create(name="Other", email="other@example.org")
    client.force_login(ben.user)
    before = other.feed_token
    client.post(reverse("web:rotate-feed"))
    other.refresh_from_db()
    assert other.feed_token == before


@pytest.mark.django_db
def test_password_guessing_is_throttled_per_ip(client, settings):
    import uuid

    rates = dict(settings.VISITDESK_THROTTLE_RATES, login="2/minute")
    settings.VISITDESK_THROTTLE_RATES = rates
    ip = f"10.253.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    UserFactory(username="coordinator", password="correct-horse-42")
    guesses = [client.post(reverse("web:login"), {"username": "coordinator", "password": f"guess{n}"},
                           REMOTE_ADDR=ip).status_code for n in range(3)]
    assert guesses == [200, 200, 429]
    blocked = client.post(reverse("web:login"), {"username": "coordinator", "password": "correct-horse-42"},
                          REMOTE_ADDR=ip)
    assert blocked.status_code == 429 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_confirming_dates_over_a_holiday_at_the_venue_warns(client, coordinator):
    """Issue 19: a public holiday at the venue is a closure; confirming over one says so."""
    from datetime import date

    from events.models import Venue

    client.force_login(coordinator)
    visit = request_visit()
    venue = Venue.objects.create(name="Campus Berlin", country="DE", subdivision="BE", timezone="Europe/Berlin")
    Visit.objects.filter(pk=visit.pk).update(venue=venue)
    response = client.post(f"/staff/visits/{visit.pk}/confirm/",
                           {"starts_on": date(2027, 3, 8), "ends_on": date(2027, 3, 9)}, follow=True)
    assert response.status_code == 200
    assert "Public holiday at the venue: 8 March (Women&#x27;s Day)" in response.content.decode()
