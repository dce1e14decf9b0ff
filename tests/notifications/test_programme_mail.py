"""The delegation's programme mail: one mail per member and the requester, then one update per change.

In-process dispatch (locmem backend) through the real reconciler, composer and dispatcher; the worker
and SMTP path is in tests/integration/test_programme_flow.py.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import icalendar
import pytest
from django.utils import timezone

from core.errors import ValidationFailed
from events.models import Participation
from events.services import ParticipantSpec
from notifications import reconcile
from notifications.models import Kind, OutboxMessage, ProgrammeState
from tests.factories import PersonFactory, RoomFactory
from tests.support.ical_checks import assert_valid_ical
from tests.support.programmes import build_long_programme
from visits import booking
from visits import services as visit_services
from visits.errors import InvalidTransition
from visits.models import Visit

from .conftest import subject, text_part, to_addr

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def attachments(msg) -> dict[str, tuple[str, bytes, dict]]:
    """filename → (content type, bytes, Content-Type params) of every attachment."""
    out = {}
    for part in msg.walk():
        if part.get_content_disposition() == "attachment":
            out[part.get_filename()] = (part.get_content_type(), part.get_payload(decode=True), dict(part.get_params()))
    return out


def html_part(msg) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError("no text/html part")


def programme_ics(msg) -> bytes:
    (found,) = [data for kind, data, params in attachments(msg).values() if kind == "text/calendar"]
    return found


def programme_mails(mails) -> list:
    return [m for m in mails if str(m["X-Visitdesk-Key"]).startswith("programme:")]


def by_recipient(mails) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in mails:
        out.setdefault(to_addr(m), []).append(m)
    return out


@pytest.fixture
def programme(db):
    return build_long_programme(language="en")


def recipients(programme) -> set[str]:
    visit = programme.visit
    return {p.email for p in visit.delegation.members.all()} | {visit.contact.email}


def test_no_programme_mail_before_it_is_sent_and_hosts_keep_their_invites(programme, send):
    mails = send()
    members = recipients(programme)
    to_members = [str(m["X-Visitdesk-Key"]) for m in mails if to_addr(m) in members]
    assert sorted(k.rsplit(":", 1)[-1] for k in to_members) == ["ack", "confirmed"], \
        "the delegation hears nothing of the programme before it is sent (the requester's workflow mails aside)"
    invites = [m for m in mails if str(m["X-Visitdesk-Key"]).startswith("imip:")]
    hosts = {"e.markovic@campus.example", "t.brandt@campus.example", "k.albers@campus.example"}
    assert {to_addr(m) for m in invites} == hosts and len(invites) == len(programme.meetings)


def test_send_programme_gives_each_member_and_the_requester_one_mail(programme, send):
    send()  # hosts' invites, the requester's workflow mails
    visit = visit_services.visit_programme_send(visit=programme.visit)
    mails = by_recipient(send())
    assert set(mails) == recipients(programme)
    assert all(len(m) == 1 for m in mails.values()), "exactly one mail each"
    msg = mails["j.petersen@lsn.example"][0]
    assert subject(msg).startswith("Your programme: Delegation Life Science Nord")
    files = attachments(msg)
    pdf = files[f"programme-{visit.reference}-en.pdf"]
    assert pdf[0] == "application/pdf" and pdf[1].startswith(b"%PDF-")
    ics = files[f"programme-{visit.reference}.ics"]
    assert ics[0] == "text/calendar" and ics[2].get("method") == "PUBLISH"
    cal = assert_valid_ical(ics[1], method="PUBLISH")
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {m.uid for m in programme.meetings}, "their meetings, with the meetings' own UIDs"
    for meeting in programme.meetings:
        assert int(events[meeting.uid]["SEQUENCE"]) == meeting.sequence
        assert events[meeting.uid].decoded("DTSTART") == meeting.starts_at
    # The programme is in the body, as text and as HTML; the feed's subscribe links are links.
    text, html = text_part(msg), html_part(msg)
    for meeting in programme.meetings:
        assert meeting.title in text and meeting.title in html
    assert "\u200b" not in text.split("Google Calendar:")[1].split()[0]
    assert 'href="https://calendar.google.com/calendar/render?cid=webcal' in html
    assert 'href="https://outlook.live.com/calendar/0/addfromweb?url=' in html
    assert "+49 30 9406 2711" in text and "S-Bahn S2" in text
    assert "s.krueger@campus.example" in text, "the coordinator's address is ours to show, not defused"
    # Sent once: another dispatch (and another reconcile) owes nothing.
    assert send() == []
    assert ProgrammeState.objects.filter(visit=visit).count() == len(recipients(programme))


def test_the_requester_gets_the_status_link_and_members_their_itinerary(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    mails = by_recipient(m for m in send() if "programme" in str(m["X-Visitdesk-Key"]))
    requester = text_part(mails["h.lorenzen@lsn.example"][0])
    member = text_part(mails["m.jessen@lsn.example"][0])
    token = programme.visit.status_token
    assert f"/visits/status/{token}/" in requester and "/n/itinerary/" not in requester
    assert f"/visits/status/{token}/" not in member and "/n/itinerary/" in member and "programme.html" in member


def test_a_german_reader_gets_german(db, send):
    programme = build_long_programme(language="de", send=True)
    mails = by_recipient(m for m in send() if "programme" in str(m["X-Visitdesk-Key"]))
    msg = mails["h.lorenzen@lsn.example"][0]
    assert subject(msg).startswith("Ihr Programm: Delegation Life Science Nord")
    assert f"programme-{programme.visit.reference}-de.pdf" in attachments(msg)
    assert "Alle Zeiten sind Ortszeit am Veranstaltungsort" in text_part(msg)


def test_a_change_sends_one_update_per_member_with_the_difference(programme, send, settings):
    visit_services.visit_programme_send(visit=programme.visit)
    send()
    moved, new_room, cancelled = programme.meetings[1], programme.meetings[4], programme.meetings[8]
    booking.meeting_reschedule(meeting=moved, starts_at=moved.starts_at + timedelta(minutes=15),
                               ends_at=moved.ends_at + timedelta(minutes=15), booker=booking.COORDINATOR, override=True)
    other_room = RoomFactory(venue=programme.venue, name="Hörsaal Delbrück")
    booking.meeting_change(meeting=new_room, changes={"room": other_room}, booker=booking.COORDINATOR, override=True)
    booking.meeting_cancel(meeting=cancelled)
    start = programme.meetings[-1].ends_at + timedelta(minutes=15)
    added = booking.meeting_create(
        visit=programme.visit, booker=booking.COORDINATOR, override=True, title="Abendessen mit dem Vorstand",
        starts_at=start, ends_at=start + timedelta(hours=2), location="Restaurant Schleusenkrug",
        participants=[ParticipantSpec(m, Participation.Role.GUEST) for m in programme.members],
    )
    mails = by_recipient(m for m in send() if "programme" in str(m["X-Visitdesk-Key"]))
    assert set(mails) == recipients(programme) and all(len(m) == 1 for m in mails.values()), \
        "four changes, one update each"
    msg = mails["j.petersen@lsn.example"][0]
    text = text_part(msg)
    assert subject(msg) == f"Programme updated: Delegation Life Science Nord ({programme.visit.reference})"
    assert f"Changed: {moved.title}" in text and "moved from 09:30–10:30 to 09:45–10:45" in text
    assert f"Changed: {new_room.title}" in text and "Hörsaal Delbrück" in text.split(new_room.title)[1].split("\n")[0]
    assert f"Cancelled: {cancelled.title}" in text
    assert f"New: {added.title}" in text
    cal = assert_valid_ical(programme_ics(msg), method="PUBLISH")
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert str(events[cancelled.uid]["STATUS"]) == "CANCELLED", "the cancelled meeting leaves their calendar"
    assert int(events[cancelled.uid]["SEQUENCE"]) == 1
    assert int(events[moved.uid]["SEQUENCE"]) == 1 and events[moved.uid].decoded("DTSTART").astimezone(BERLIN).minute == 45
    assert added.uid in events and str(events[added.uid]["STATUS"]) == "CONFIRMED"
    assert send() == []


def test_several_edits_before_the_settle_time_is_up_are_one_update(programme, send, settings):
    settings.VISITDESK_NOTIFY_SETTLE_SECONDS = 300
    visit_services.visit_programme_send(visit=programme.visit)
    assert programme_mails(send()) == []  # settling
    OutboxMessage.objects.filter(kind=Kind.PROGRAMME).update(due_at=timezone.now())
    assert len(programme_mails(send())) == len(recipients(programme))
    meeting = programme.meetings[0]
    for minutes in (5, 10, 15):
        booking.meeting_reschedule(meeting=meeting, starts_at=meeting.starts_at - timedelta(minutes=minutes),
                                   ends_at=meeting.ends_at - timedelta(minutes=minutes), booker=booking.COORDINATOR,
                                   override=True)
        assert programme_mails(send()) == [], "nothing is due inside the window"
    pending = OutboxMessage.objects.filter(kind=Kind.PROGRAMME_UPDATE, state=OutboxMessage.State.PENDING)
    assert pending.count() == len(recipients(programme)), "one pending update per member, the older superseded"
    pending.update(due_at=timezone.now())
    updates = [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])]
    assert len(updates) == len(recipients(programme))
    assert "moved from 09:00–09:30 to 08:45–09:15" in text_part(updates[0]), "the last edit, against what they have"


def test_moved_and_moved_back_sends_nothing(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    send()
    meeting = programme.meetings[2]
    start, end = meeting.starts_at, meeting.ends_at
    booking.meeting_reschedule(meeting=meeting, starts_at=start - timedelta(minutes=5), ends_at=end - timedelta(minutes=5),
                               booker=booking.COORDINATOR, override=True)
    reconcile.reconcile()
    booking.meeting_reschedule(meeting=meeting, starts_at=start, ends_at=end, booker=booking.COORDINATOR, override=True)
    assert [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])] == []
    assert set(OutboxMessage.objects.filter(kind=Kind.PROGRAMME_UPDATE).values_list("last_error", flat=True)) == {
        "superseded by a later change", "not sent: nothing changed since the person was last told"}
    assert send() == [], "and it stays that way"


def test_a_row_in_flight_gets_no_twin_and_a_stale_row_is_not_sent(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    reconcile.reconcile()
    row = OutboxMessage.objects.filter(kind=Kind.PROGRAMME, person__email="m.jessen@lsn.example").get()
    OutboxMessage.objects.filter(pk=row.pk).update(state=OutboxMessage.State.SENDING, claim_token="x")
    booking.meeting_cancel(meeting=programme.meetings[3])
    reconcile.reconcile()
    owed = OutboxMessage.objects.filter(person__email="m.jessen@lsn.example", kind__in=(Kind.PROGRAMME,
                                                                                        Kind.PROGRAMME_UPDATE))
    assert list(owed.values_list("pk", flat=True)) == [row.pk], "nothing new while one is being sent"
    # The other members' rows were owed for the programme before the cancellation: superseded.
    superseded = OutboxMessage.objects.filter(kind=Kind.PROGRAMME, state=OutboxMessage.State.CANCELLED)
    assert superseded.count() == len(recipients(programme)) - 1
    mails = [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])]
    assert "m.jessen@lsn.example" not in {to_addr(m) for m in mails}
    assert len(mails) == len(recipients(programme)) - 1


def test_a_visit_with_per_meeting_invitations_gets_no_programme_mail(programme, send):
    Visit.objects.filter(pk=programme.visit.pk).update(delegation_mail=Visit.DelegationMail.INVITES)
    with pytest.raises(InvalidTransition):
        visit_services.visit_programme_send(visit=programme.visit)
    mails = send()
    member_mails = [m for m in mails if to_addr(m) == "j.petersen@lsn.example"]
    assert len(member_mails) == len(programme.meetings), "an invitation per meeting, as chosen"
    assert not OutboxMessage.objects.filter(kind__in=(Kind.PROGRAMME, Kind.PROGRAMME_UPDATE)).exists()


def test_sending_is_refused_for_a_requested_visit_or_an_empty_programme(db, requested_visit):
    visit = requested_visit()
    with pytest.raises(InvalidTransition):
        visit_services.visit_programme_send(visit=visit)
    visit = visit_services.visit_confirm(visit=visit)
    with pytest.raises(ValidationFailed) as error:
        visit_services.visit_programme_send(visit=visit)
    assert error.value.field == "programme"


def test_accepting_a_first_booked_programme_releases_it_once(programme):
    visit = programme.visit
    assert Visit.objects.get(pk=visit.pk).programme_sent_at is None
    start = programme.meetings[-1].ends_at + timedelta(hours=1)
    spec = booking.BookingSpec(key="x", title="Extra", starts_at=start, ends_at=start + timedelta(minutes=30),
                               room=None, participants=[ParticipantSpec(m, "guest") for m in programme.members])
    booking.programme_book(bookings=[spec], timezone="Europe/Berlin", visit=visit)
    released = Visit.objects.get(pk=visit.pk).programme_sent_at
    assert released is not None
    spec = booking.BookingSpec(key="y", title="Extra 2", starts_at=start + timedelta(hours=1),
                               ends_at=start + timedelta(hours=2), room=None,
                               participants=[ParticipantSpec(m, "guest") for m in programme.members])
    booking.programme_book(bookings=[spec], timezone="Europe/Berlin", visit=visit)
    assert Visit.objects.get(pk=visit.pk).programme_sent_at == released, "later bookings are updates"


def test_sending_again_sends_the_whole_programme_again(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    send()
    visit_services.visit_programme_send(visit=programme.visit)
    mails = [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])]
    assert len(mails) == len(recipients(programme))
    assert all(subject(m).startswith("Your programme:") for m in mails)


def test_a_cancelled_visit_takes_the_programme_out_of_their_calendars(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    send()
    visit_services.visit_cancel(visit=programme.visit, reason="Travel ban")
    mails = [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])]
    assert len(mails) == len(recipients(programme))
    cal = assert_valid_ical(programme_ics(mails[0]), method="PUBLISH")
    assert {str(e["STATUS"]) for e in cal.walk("VEVENT")} == {"CANCELLED"}


def test_a_new_member_gets_the_programme_and_the_others_nothing(programme, send):
    visit_services.visit_programme_send(visit=programme.visit)
    send()
    newcomer = PersonFactory(name="Ole Hansen", email="o.hansen@lsn.example")
    programme.visit.delegation.members.add(newcomer)
    mails = [m for m in send() if "programme" in str(m["X-Visitdesk-Key"])]
    assert [to_addr(m) for m in mails] == ["o.hansen@lsn.example"]
    # In no meeting yet: the whole programme.
    cal = icalendar.Calendar.from_ical(programme_ics(mails[0]))
    assert len(cal.walk("VEVENT")) == len(programme.meetings)


def test_visit_reminders_still_reach_the_delegation(programme):
    visit_services.visit_programme_send(visit=programme.visit)
    wanted = reconcile.wanted_reminders(now=timezone.now())
    members = set(programme.visit.delegation.members.values_list("pk", flat=True))
    assert {w.person_id for w in wanted if w.kind == Kind.VISIT_REMINDER} == members
