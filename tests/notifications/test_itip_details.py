"""iTIP details real clients act on, and RFC 8058 one-click unsubscribe.

- an update that moves the meeting or changes its place asks again: PARTSTAT=NEEDS-ACTION with
  RSVP=TRUE (RFC 5546 §2.1.4), and the stored answer is forgotten once it is sent;
- a CANCEL asks for no reply (no RSVP=TRUE);
- an RSVP for a cancelled meeting is refused, on the page and in the API, and nothing is stored;
- moved and moved back before the mail went out: no "moved from 09:30 to 09:30" update;
- the ``application/ics`` attachment has a ``name=``;
- reminders carry List-Unsubscribe (https + mailto) and List-Unsubscribe-Post, and a POST without
  a CSRF token or a session opts out.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.test import Client
from rest_framework.test import APIClient

from events import services as event_services
from events.models import Participation
from notifications import links
from notifications.models import Kind, OutboxMessage
from tests.factories import UserFactory

from .conftest import calendar_part, text_part, to_addr

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[1]


def _attendee(message):
    data, method = calendar_part(message)
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    return method, event["ATTENDEE"].params, event


def _for(sent, person):
    return [m for m in sent if to_addr(m) == person.email]


def test_a_move_asks_again_and_forgets_the_old_answer_once_sent(standalone, send, guest):
    meeting = standalone()
    send()
    participation = meeting.participations.get(person=guest)
    event_services.participant_rsvp(participation=participation, answer="accepted")
    event_services.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at + timedelta(hours=1),
                                      ends_at=meeting.ends_at + timedelta(hours=1))
    (update,) = _for(send(), guest)
    method, params, _event = _attendee(update)
    assert method == "REQUEST"
    assert params["PARTSTAT"] == "NEEDS-ACTION" and params["RSVP"] == "TRUE"
    participation.refresh_from_db()
    assert participation.rsvp == Participation.Rsvp.NEEDS_ACTION  # feeds and the API agree with the mail


def test_a_change_of_place_asks_again_too(standalone, send, guest):
    meeting = standalone()
    send()
    event_services.participant_rsvp(participation=meeting.participations.get(person=guest), answer="accepted")
    event_services.meeting_update(meeting=meeting, room=None, location="Main hall")
    (update,) = _for(send(), guest)
    assert _attendee(update)[1]["PARTSTAT"] == "NEEDS-ACTION"


def test_a_new_title_keeps_the_answer(standalone, send, guest):
    meeting = standalone()
    send()
    event_services.participant_rsvp(participation=meeting.participations.get(person=guest), answer="accepted")
    event_services.meeting_update(meeting=meeting, title="Cross-border R&D cooperation (agenda v2)")
    (update,) = _for(send(), guest)
    assert _attendee(update)[1]["PARTSTAT"] == "ACCEPTED"
    assert meeting.participations.get(person=guest).rsvp == "accepted"


def test_a_cancel_asks_for_no_reply(standalone, send, guest):
    meeting = standalone()
    send()
    event_services.meeting_cancel(meeting=meeting)
    (cancel,) = _for(send(), guest)
    method, params, event = _attendee(cancel)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert "RSVP" not in params
    data, _ = calendar_part(cancel)
    assert b"RSVP=" not in data


def test_moved_and_moved_back_before_the_mail_went_out_sends_nothing(standalone, send, guest, host):
    meeting = standalone()
    send()
    original = (meeting.starts_at, meeting.ends_at)
    event_services.meeting_reschedule(meeting=meeting, starts_at=original[0] + timedelta(hours=1),
                                      ends_at=original[1] + timedelta(hours=1))
    event_services.meeting_reschedule(meeting=meeting, starts_at=original[0], ends_at=original[1])
    assert [m for m in send() if m["X-Visitdesk-Key"].startswith("imip:")] == []
    rows = OutboxMessage.objects.filter(kind=Kind.UPDATE)
    assert {r.state for r in rows} == {OutboxMessage.State.CANCELLED}
    assert all("nothing changed" in r.last_error for r in rows)
    # A real move afterwards is announced, counted from what people were actually told.
    event_services.meeting_reschedule(meeting=meeting, starts_at=original[0] + timedelta(hours=2),
                                      ends_at=original[1] + timedelta(hours=2))
    updates = _for(send(), guest)
    assert len(updates) == 1
    assert "moved from 10:00–11:00 to 12:00–13:00" in text_part(updates[0])


def test_an_rsvp_for_a_cancelled_meeting_is_refused_on_the_page(client, standalone, guest):
    meeting = standalone()
    url = path_of(links.rsvp_url(meeting_id=meeting.pk, person_id=guest.pk, answer="accepted"))
    event_services.meeting_cancel(meeting=meeting)
    page = client.get(url)
    assert page.status_code == 410
    assert "This meeting was cancelled" in page.content.decode()
    posted = client.post(url)
    assert posted.status_code == 410 and "This meeting was cancelled" in posted.content.decode()
    participation = meeting.participations.get(person=guest)
    assert participation.rsvp == Participation.Rsvp.NEEDS_ACTION and participation.responded_at is None


def test_an_rsvp_for_a_cancelled_meeting_is_refused_by_the_api(standalone, guest):
    meeting = standalone()
    event_services.meeting_cancel(meeting=meeting)
    api = APIClient()
    api.force_authenticate(UserFactory(username="coord-rsvp", is_staff=True))
    response = api.post(f"/api/v1/meetings/{meeting.pk}/rsvp/", {"rsvp": "accepted", "person": guest.pk},
                        format="json")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "meeting_cancelled"
    assert "cancelled" in response.json()["error"]["message"]
    assert meeting.participations.get(person=guest).rsvp == Participation.Rsvp.NEEDS_ACTION


def test_the_ics_attachment_has_a_name(standalone, send, guest):
    standalone()
    (invite,) = _for(send(), guest)
    (attachment,) = [p for p in invite.walk() if p.get_content_type() == "application/ics"]
    assert attachment.get_param("name") == "invite.ics"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_payload(decode=True) == calendar_part(invite)[0]


# --- one-click unsubscribe -------------------------------------------------------------------


def test_reminders_carry_one_click_list_unsubscribe(standalone, send, host, settings):
    import time_machine

    from .conftest import berlin

    with time_machine.travel(berlin(2026, 6, 1, 8, 0), tick=False) as clock:
        standalone(start=berlin(2026, 6, 3, 10, 0))
        send()
        clock.move_to(berlin(2026, 6, 2, 10, 0, 5))
        (reminder,) = [m for m in send() if m["X-Visitdesk-Key"].startswith("reminder:")]
    header = str(reminder["List-Unsubscribe"])
    https, mailto = [part.strip().strip("<>") for part in header.split(",")]
    assert https.startswith("http") and "/n/reminders/" in https
    assert links.read_opt_out_token(https.rstrip("/").rsplit("/", 1)[1]) == host.pk
    assert mailto.startswith(f"mailto:{settings.VISITDESK_UNSUBSCRIBE_MAILTO}?subject=unsubscribe")
    assert str(reminder["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_a_one_click_post_without_csrf_token_or_session_opts_out(host):
    url = path_of(links.opt_out_url(person_id=host.pk))
    response = Client(enforce_csrf_checks=True).post(url, data="List-Unsubscribe=One-Click",
                                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    host.refresh_from_db()
    assert host.reminders_opt_out is True
    # A forged token still opts nobody out.
    assert Client(enforce_csrf_checks=True).post("/n/reminders/forged/", data="List-Unsubscribe=One-Click",
                                                 content_type="application/x-www-form-urlencoded").status_code == 404
