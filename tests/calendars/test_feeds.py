"""The feeds over HTTP: what a subscribing calendar client sees, and what it costs the server."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import icalendar
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone as djtz
from django.utils.http import http_date
from rest_framework.authtoken.models import Token

from calendars.feeds import STATE_MEMO_SECONDS
from calendars.links import meeting_ics_url, meeting_link_for_person, person_feed_url, public_feed_url, visit_feed_url
from calendars.models import MeetingICal
from directory.services import person_rotate_feed_token
from events.models import Meeting
from events.services import (
    meeting_cancel,
    meeting_reschedule,
    participant_add,
    participant_remove,
    participant_rsvp,
)
from events.signals import schedule_changed
from tests.factories import EventFactory, PersonFactory, UserFactory, VisitFactory
from tests.support.ical_checks import assert_valid_ical
from visits import booking
from visits.services import visit_rotate_feed_token

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    """The path of an absolute link from ``calendars.links`` / ``visits.links``."""
    return urlsplit(url).path


def _get(client, url, **headers):
    return client.get(_path(url), headers=headers)


def _committed() -> None:
    """What the services' on-commit ``schedule_changed`` does; a test's transaction never commits."""
    schedule_changed.send(sender="events", meeting_ids=[])


def _uids(data: bytes) -> set[str]:
    return {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def _assert_feed_response(response):
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["ETag"].startswith('"') and response["Last-Modified"]
    return response.content


# --- the four kinds ----------------------------------------------------------------------------


def test_public_feed_lists_public_event_meetings_without_people(client, make_meeting, public_event):
    speaker = PersonFactory(email="speaker@stemcell.example.org")
    shown = make_meeting(title="Info day: welcome", event=public_event, participants=[(speaker, "presenter")])
    hidden_event = EventFactory(is_public=False)
    internal = make_meeting(title="Internal prep", event=hidden_event, participants=[(speaker, "host")])
    visit_meeting = make_meeting(title="Visit meeting", participants=[(speaker, "host")])

    response = _get(client, public_feed_url())
    data = _assert_feed_response(response)
    assert response["Cache-Control"].startswith("public")
    assert_valid_ical(data, expect_tzids={"Europe/Berlin"})
    assert _uids(data) == {shown.uid}
    assert internal.uid.encode() not in data and visit_meeting.uid.encode() not in data
    assert b"mailto:" not in data and b"speaker@" not in data and b"ATTENDEE" not in data
    unfolded = data.replace(b"\r\n ", b"").decode()
    addresses = [line for line in unfolded.split("\r\n")
                 if re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", line) and not line.startswith("UID:")]
    assert addresses == [], "no e-mail address outside the UID"
    assert b"X-WR-CALNAME:" in data


def test_person_feed_lists_every_meeting_the_person_takes_part_in(client, make_meeting, public_event):
    host = PersonFactory(name="Dr. Jana Weber")
    other = PersonFactory()
    as_chair = make_meeting(title="Steering", participants=[(host, "chair"), (other, "guest")])
    as_guest = make_meeting(title="Public talk", event=public_event, participants=[(host, "guest")])
    not_hers = make_meeting(title="Someone else's", participants=[(other, "host")])

    data = _assert_feed_response(_get(client, person_feed_url(host)))
    cal = assert_valid_ical(data, expect_tzids={"Europe/Berlin"})
    assert _uids(data) == {as_chair.uid, as_guest.uid}
    assert not_hers.uid.encode() not in data
    assert str(cal["X-WR-CALNAME"]).endswith("Dr. Jana Weber")
    steering = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == as_chair.uid)
    roles = {str(a): a.params["ROLE"] for a in steering["ATTENDEE"]}
    assert roles[f"mailto:{host.email}"] == "CHAIR"
    assert "ORGANIZER" in steering
    assert response_is_private(_get(client, person_feed_url(host)))


def response_is_private(response) -> bool:
    return response["Cache-Control"].startswith("private") and "noindex" in response["X-Robots-Tag"]


def test_visit_feed_lists_the_programme(client, make_meeting):
    visit = VisitFactory()
    host = PersonFactory()
    start = (djtz.now() + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    first = booking.meeting_create(visit=visit, title="Welcome", starts_at=start, ends_at=start + timedelta(hours=1),
                                     participants=[])
    second = booking.meeting_create(visit=visit, title="Lab tour", starts_at=start + timedelta(hours=2),
                                      ends_at=start + timedelta(hours=3), kind="tour")
    participant_add(meeting=second, person=host, role="host")
    elsewhere = make_meeting(title="Not in this visit")

    data = _assert_feed_response(_get(client, visit_feed_url(visit)))
    cal = assert_valid_ical(data, expect_tzids={"Europe/Berlin"})
    assert _uids(data) == {first.uid, second.uid}
    assert elsewhere.uid.encode() not in data
    assert visit.reference in str(cal["X-WR-CALNAME"])


def test_single_meeting_of_a_public_event_is_open_to_anyone(client, make_meeting, public_event):
    speaker = PersonFactory(email="speaker@stemcell.example.org")
    meeting = make_meeting(title="Workshop", event=public_event, participants=[(speaker, "presenter")])
    response = _get(client, meeting_ics_url(meeting))
    data = _assert_feed_response(response)
    assert_valid_ical(data)
    assert _uids(data) == {meeting.uid}
    assert b"speaker@" not in data and b"mailto:" not in data
    assert response["Content-Disposition"] == f'attachment; filename="meeting-{meeting.pk}.ics"'


def test_single_private_meeting_only_for_staff_and_participants(client, make_meeting):
    member_user = UserFactory(username="guest-user", is_staff=False)
    member = PersonFactory(user=member_user)
    outsider_user = UserFactory(username="outsider", is_staff=False)
    meeting = make_meeting(title="Confidential", participants=[(member, "guest")])
    url = meeting_ics_url(meeting)

    assert _get(client, url).status_code == 404  # anonymous
    assert _get(client, url, Authorization="Token not-a-real-token").status_code == 404

    client.force_login(outsider_user)
    assert _get(client, url).status_code == 404
    client.logout()

    client.force_login(UserFactory(username="coordinator", is_staff=True))
    data = _assert_feed_response(_get(client, url))
    assert_valid_ical(data)
    assert member.email.encode() in data  # staff see attendees
    client.logout()

    token = Token.objects.create(user=member_user)
    response = _get(client, url, Authorization=f"Token {token.key}")
    assert_valid_ical(_assert_feed_response(response))
    assert "Authorization" in response["Vary"]


def test_unknown_meeting_is_404(client):
    assert client.get(reverse("calendars:meeting-ics", kwargs={"pk": 999999})).status_code == 404


# --- tokens ------------------------------------------------------------------------------------


def test_wrong_token_is_404(client, make_meeting):
    PersonFactory()
    assert client.get(reverse("calendars:person-feed", kwargs={"token": "x" * 32})).status_code == 404
    assert client.get(reverse("calendars:visit-feed", kwargs={"token": "x" * 32})).status_code == 404


def test_rotated_person_token_makes_the_old_url_404(client, make_meeting):
    person = PersonFactory()
    make_meeting(participants=[(person, "guest")])
    old_url = person_feed_url(person)
    assert _get(client, old_url).status_code == 200
    person = person_rotate_feed_token(person=person)
    assert _get(client, old_url).status_code == 404
    new_url = person_feed_url(person)
    assert new_url != old_url
    assert_valid_ical(_assert_feed_response(_get(client, new_url)))


def test_rotated_visit_token_makes_the_old_url_404(client):
    visit = VisitFactory()
    old_url = visit_feed_url(visit)
    assert _get(client, old_url).status_code == 200
    visit = visit_rotate_feed_token(visit=visit)
    assert _get(client, old_url).status_code == 404
    assert _get(client, visit_feed_url(visit)).status_code == 200


def test_feed_tokens_are_long_enough():
    person = PersonFactory.build()
    assert len(person.feed_token) >= 22  # token_urlsafe: 6 bits per character, >= 128 bits


# --- HTTP caching ------------------------------------------------------------------------------


@pytest.fixture
def subscribed(client, make_meeting):
    person = PersonFactory()
    meetings = [make_meeting(title=f"Meeting {i}", participants=[(person, "guest")]) for i in range(3)]
    return person, meetings, person_feed_url(person)


def test_body_and_etag_are_stable_between_requests(client, subscribed):
    _person, _meetings, url = subscribed
    first, second = _get(client, url), _get(client, url)
    assert first.content == second.content
    assert first["ETag"] == second["ETag"] and first["Last-Modified"] == second["Last-Modified"]


def test_if_none_match_gives_304_without_building_the_body(client, subscribed, django_assert_max_num_queries,
                                                             monkeypatch):
    _person, _meetings, url = subscribed
    etag = _get(client, url)["ETag"]

    def must_not_render(*args, **kwargs):
        raise AssertionError("the body was built for a 304")

    monkeypatch.setattr("calendars.fragments.render_cached_feed", must_not_render)
    with django_assert_max_num_queries(2):
        response = _get(client, url, If_None_Match=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag and not response.content


def test_validator_is_memoized_until_the_schedule_changes(client, subscribed, django_assert_num_queries):
    person, meetings, url = subscribed
    first = _get(client, url)
    with django_assert_num_queries(1):  # the token; the validator comes from the memo
        assert _get(client, url, If_None_Match=first["ETag"]).status_code == 304
    participant_rsvp(participation=meetings[0].participations.get(person=person), answer="accepted")
    # Before the change commits (and announces itself) the memo still answers ...
    assert _get(client, url, If_None_Match=first["ETag"]).status_code == 304
    _committed()
    # ... after it, the validator is computed again and the client gets the new body.
    changed = _get(client, url, If_None_Match=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    assert b"PARTSTAT=ACCEPTED" in changed.content


def test_memo_expires_by_itself_for_changes_that_send_no_signal(client, subscribed):
    _person, meetings, url = subscribed
    first = _get(client, url)
    Meeting.objects.filter(pk=meetings[0].pk).update(title="Edited in the admin", updated_at=djtz.now())
    with time_machine.travel(djtz.now() + timedelta(seconds=STATE_MEMO_SECONDS + 1), tick=False):
        later = _get(client, url, If_None_Match=first["ETag"])
    assert later.status_code == 200 and b"Edited in the admin" in later.content


def test_public_feed_304_costs_one_query(client, make_meeting, public_event, django_assert_max_num_queries):
    make_meeting(event=public_event)
    etag = _get(client, public_feed_url())["ETag"]
    with django_assert_max_num_queries(1):
        assert _get(client, public_feed_url(), If_None_Match=etag).status_code == 304


def test_visit_feed_304_costs_two_queries(client, django_assert_max_num_queries):
    visit = VisitFactory()
    start = djtz.now() + timedelta(days=5)
    booking.meeting_create(visit=visit, title="Welcome", starts_at=start, ends_at=start + timedelta(hours=1))
    etag = _get(client, visit_feed_url(visit))["ETag"]
    with django_assert_max_num_queries(2):
        assert _get(client, visit_feed_url(visit), If_None_Match=etag).status_code == 304


def test_if_modified_since_gives_304(client, subscribed):
    _person, _meetings, url = subscribed
    last_modified = _get(client, url)["Last-Modified"]
    assert _get(client, url, If_Modified_Since=last_modified).status_code == 304
    an_hour_earlier = http_date(int((djtz.now() - timedelta(hours=1)).timestamp()))
    assert _get(client, url, If_Modified_Since=an_hour_earlier).status_code == 200


def test_head_answers_like_get(client, subscribed):
    _person, _meetings, url = subscribed
    get = _get(client, url)
    head = client.head(_path(url))
    assert head.status_code == 200
    assert head["ETag"] == get["ETag"] and head["Content-Type"] == get["Content-Type"]
    assert not head.content
    assert client.head(_path(url), headers={"If-None-Match": get["ETag"]}).status_code == 304


def test_only_safe_methods(client, subscribed):
    assert client.post(_path(subscribed[2])).status_code == 405


@pytest.mark.parametrize(
    "change",
    ["rsvp", "participant_added", "participant_removed", "rescheduled", "cancelled", "left_window", "renamed_owner"],
)
def test_etag_follows_every_change_a_subscriber_must_see(client, subscribed, change, request):
    person, meetings, url = subscribed
    before = _get(client, url)
    target = meetings[0]
    if change == "rsvp":
        participant_rsvp(participation=target.participations.get(person=person), answer="declined")
    elif change == "participant_added":
        participant_add(meeting=target, person=PersonFactory(email="newcomer@example.org"), role="guest")
    elif change == "participant_removed":
        colleague = PersonFactory()
        participant_add(meeting=target, person=colleague, role="guest")
        _committed()
        before = _get(client, url)
        participant_remove(meeting=target, person=colleague)
    elif change == "rescheduled":
        meeting_reschedule(meeting=target, starts_at=target.starts_at + timedelta(days=1),
                           ends_at=target.ends_at + timedelta(days=1))
    elif change in ("cancelled", "left_window"):
        meeting_cancel(meeting=target)
    elif change == "renamed_owner":
        person.name = "Renamed Person"
        person.save()
    _committed()
    if change == "left_window":
        # No signal when a cancelled meeting ages out of the window: time alone moves the validator.
        before = _get(client, url)
        traveller = time_machine.travel(djtz.now() + timedelta(days=31), tick=False)
        traveller.start()
        request.addfinalizer(traveller.stop)
    after = _get(client, url)
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.content != before.content
    assert _get(client, url, If_None_Match=before["ETag"]).status_code == 200
    cal = assert_valid_ical(after.content)
    event = next((e for e in cal.walk("VEVENT") if str(e["UID"]) == target.uid), None)
    if change == "rsvp":
        mine = next(a for a in event["ATTENDEE"] if str(a) == f"mailto:{person.email}") \
            if isinstance(event["ATTENDEE"], list) else event["ATTENDEE"]
        assert mine.params["PARTSTAT"] == "DECLINED"
    elif change == "participant_added":
        assert b"newcomer@example.org" in after.content
    elif change == "cancelled":
        assert str(event["STATUS"]) == "CANCELLED"
    elif change == "left_window":
        assert event is None


def test_cancelled_meetings_stay_for_30_days(client, subscribed):
    _person, meetings, url = subscribed
    recent = meeting_cancel(meeting=meetings[0])
    old = meeting_cancel(meeting=meetings[1])
    Meeting.objects.filter(pk=old.pk).update(cancelled_at=djtz.now() - timedelta(days=31))
    data = _assert_feed_response(_get(client, url))
    cal = assert_valid_ical(data)
    statuses = {str(e["UID"]): str(e["STATUS"]) for e in cal.walk("VEVENT")}
    assert statuses == {recent.uid: "CANCELLED", meetings[2].uid: "CONFIRMED"}


# --- the fragment store ------------------------------------------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert _get(client, url).status_code == 200
    return len(ctx.captured_queries)


def test_feed_costs_a_constant_number_of_queries(client, make_meeting, feed_cache):
    small, large = PersonFactory(), PersonFactory()
    for i in range(2):
        make_meeting(title=f"S{i}", participants=[(small, "guest")])
    for i in range(12):
        make_meeting(title=f"L{i}", participants=[(large, "guest")])
    # Cold (fragments rendered on this read), warm (validator + join of stored fragments) and cached
    # (validator memoized, body cached under its ETag): none grows with N.
    assert _count_queries(client, person_feed_url(small)) == _count_queries(client, person_feed_url(large))
    feed_cache()
    assert _count_queries(client, person_feed_url(small)) == _count_queries(client, person_feed_url(large)) == 3
    assert _count_queries(client, person_feed_url(small)) == _count_queries(client, person_feed_url(large)) == 1


def test_changed_meetings_are_rendered_again_and_only_they(client, subscribed, monkeypatch):
    person, meetings, url = subscribed
    _get(client, url)
    stored = {row.meeting_id: row.rendered_for for row in MeetingICal.objects.all()}
    assert set(stored) == {m.pk for m in meetings}

    rendered = []
    import calendars.fragments

    real = calendars.fragments.fragments_refresh
    monkeypatch.setattr(calendars.fragments, "fragments_refresh", lambda ms: rendered.extend(m.pk for m in ms) or real(ms))
    _get(client, url)
    assert rendered == []
    participant_rsvp(participation=meetings[1].participations.get(person=person), answer="tentative")
    _committed()
    data = _get(client, url).content
    assert rendered == [meetings[1].pk]
    assert b"PARTSTAT=TENTATIVE" in data


def test_cached_feed_equals_a_fresh_render(client, subscribed, feed_cache):
    from calendars import ical
    from calendars.snapshot import meetings_data
    from events.selectors import meetings_for_person

    person, _meetings, url = subscribed
    _get(client, url)  # renders and stores the fragments
    feed_cache()  # drop the cached body: the next read is a join of stored fragments
    cached = _get(client, url).content
    fresh = ical.render_feed(meetings_data(meetings_for_person(person=person).order_by("pk")),
                             name=icalendar.Calendar.from_ical(cached)["NAME"],
                             description=str(icalendar.Calendar.from_ical(cached)["DESCRIPTION"]),
                             link=lambda meeting_id: meeting_link_for_person(meeting_id, person))
    assert cached == fresh


# --- abuse ---------------------------------------------------------------------------------------


def test_feeds_are_throttled(client, subscribed, settings):
    settings.VISITDESK_THROTTLE_RATES = {**settings.VISITDESK_THROTTLE_RATES, "feed": "3/minute"}
    url = subscribed[2]
    statuses = [_get(client, url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert int(_get(client, url)["Retry-After"]) >= 1


def test_out_of_date_fragments_are_rendered_in_stored_chunks(client, make_meeting, monkeypatch):
    import calendars.fragments

    person = PersonFactory()
    meetings = [make_meeting(title=f"M{i}", participants=[(person, "guest")]) for i in range(5)]
    monkeypatch.setattr(calendars.fragments, "CHUNK", 2)
    chunks = []
    real = calendars.fragments.fragments_refresh
    monkeypatch.setattr(calendars.fragments, "fragments_refresh", lambda ms: chunks.append(len(ms)) or real(ms))
    data = _assert_feed_response(_get(client, person_feed_url(person)))
    assert chunks == [2, 2, 1]
    assert_valid_ical(data)
    assert _uids(data) == {m.uid for m in meetings}
    assert MeetingICal.objects.filter(meeting__in=meetings).count() == 5
