"""The coordinator hears of answers to invitations in one summary per settle window, not one mail per answer.

The window opens with the first answer after the last summary and closes ``VISITDESK_ANSWER_DIGEST_SECONDS``
later, whatever comes in meanwhile (the mail never starves); answers after that open the next window.
The dispatcher runs in-process under a travelling clock; the worker, Redis and SMTP path is in
tests/integration/test_answer_summary_flow.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events import services as event_services
from notifications import compose
from notifications.models import CounterProposal, Kind, OutboxMessage
from tests.factories import PersonFactory
from visits import booking
from visits import services as visit_services

from .conftest import subject, text_part, to_addr

pytestmark = pytest.mark.django_db
WINDOW = 600


@pytest.fixture(autouse=True)
def _window(settings):
    settings.VISITDESK_ANSWER_DIGEST_SECONDS = WINDOW


@pytest.fixture
def programme(requested_visit, host, coordinator, send):
    """A confirmed visit with two meetings: Jana hosts both, Lars is a guest of the first."""
    visit = requested_visit()
    start = timezone.now() + timedelta(days=20)
    guest = PersonFactory(name="Lars Nilsson", email="lars@guest.example.org")
    second_host = PersonFactory(name="Dr. Ole Berg", email="ole@host.example.org")
    lab = booking.meeting_create(visit=visit, title="Lab tour", starts_at=start, ends_at=start + timedelta(hours=1),
                                 participants=[event_services.ParticipantSpec(host, "host"),
                                               event_services.ParticipantSpec(guest, "guest")])
    talk = booking.meeting_create(visit=visit, title="Stem cell talk", starts_at=start + timedelta(hours=2),
                                  ends_at=start + timedelta(hours=3),
                                  participants=[event_services.ParticipantSpec(second_host, "host")])
    visit_services.visit_confirm(visit=visit, by=coordinator)
    send()
    return visit, lab, talk, guest, second_host


def answer(meeting, person, what):
    booking.meeting_answer(participation=meeting.participations.get(person=person), answer=what)


def summaries(mails):
    return [m for m in mails if m["X-Visitdesk-Key"].startswith("answers:")]


def test_answers_within_one_window_are_one_mail_to_the_coordinator(programme, host, coordinator, send):
    visit, lab, talk, guest, ole = programme
    with time_machine.travel(timezone.now(), tick=False) as clock:
        answer(lab, host, "declined")
        assert summaries(send()) == []  # the window has opened, nothing is sent yet
        clock.shift(timedelta(minutes=4))
        answer(lab, guest, "accepted")
        answer(talk, ole, "declined")
        clock.shift(timedelta(minutes=5))
        assert summaries(send()) == []  # later answers do not move the window; it is not over yet
        assert OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY).count() == 1
        clock.shift(timedelta(minutes=1, seconds=6))
        sent = summaries(send())
        assert [to_addr(m) for m in sent] == [coordinator.email]
        text = text_part(sent[0])
        assert subject(sent[0]) == "Answers to your invitations: 2 declined, 1 accepted"
        assert "Dr. Jana Weber (host) declined" in text and "Lars Nilsson (guest) accepted" in text
        assert "Dr. Ole Berg (host) declined" in text
        assert text.index("Lab tour") < text.index("Stem cell talk")  # per meeting, in programme order
        assert f"/staff/visits/{visit.pk}/#answers" in text
        # Booked by hand: no proposal to repair, the mail says where to act instead.
        assert "choose someone else in the planner" in text
        assert summaries(send()) == []

        # A later answer opens the next window: a second mail, with only that answer.
        clock.shift(timedelta(minutes=30))
        answer(lab, host, "accepted")
        assert summaries(send()) == []
        clock.shift(timedelta(seconds=WINDOW + 6))
        second = summaries(send())
        assert len(second) == 1
        text = text_part(second[0])
        assert "Dr. Jana Weber (host) accepted" in text and "Ole" not in text and "Lars" not in text
        assert subject(second[0]) == "Answers to your invitations: 1 accepted"
    assert OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY, state="sent").count() == 2


def test_a_window_whose_answers_were_taken_back_sends_nothing(programme, host, send):
    _visit, lab, *_ = programme
    with time_machine.travel(timezone.now(), tick=False) as clock:
        answer(lab, host, "declined")
        send()
        # The answer is reset (an update asked again) before the window closes: nothing is left to say.
        event_services.participant_rsvp_reset(meeting_id=lab.pk, person_id=host.pk,
                                              answered_before=timezone.now() + timedelta(seconds=1))
        clock.shift(timedelta(seconds=WINDOW + 6))
        assert summaries(send()) == []
        row = OutboxMessage.objects.get(kind=Kind.ANSWER_SUMMARY)
        assert row.state == "cancelled" and "no answers left" in row.last_error
        # The next answer opens a new window after the one that ended empty.
        clock.shift(timedelta(minutes=1))
        answer(lab, host, "tentative")
        clock.shift(timedelta(seconds=WINDOW + 6))
        sent = summaries(send())
        assert len(sent) == 1 and "answered maybe (tentative)" in text_part(sent[0])


def test_the_coordinators_own_answer_is_no_news_and_reconciling_often_owes_one_row(programme, coordinator, send):
    _visit, lab, *_ = programme
    booking.meeting_change(meeting=lab, participants=[
        *[event_services.ParticipantSpec(p.person, p.role) for p in lab.participations.select_related("person")],
        event_services.ParticipantSpec(coordinator, "chair")], booker=booking.COORDINATOR)
    send()
    answer(lab, coordinator, "declined")
    from notifications.reconcile import reconcile_answer_summaries

    assert reconcile_answer_summaries(now=timezone.now()) == 0
    assert not OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY).exists()


def test_a_counter_proposal_and_german(programme, coordinator, send, settings):
    _visit, lab, _talk, guest, _ole = programme
    coordinator.language = "de"
    coordinator.save()
    settings.VISITDESK_ANSWER_DIGEST_SECONDS = 0
    CounterProposal.objects.create(meeting=lab, person=guest, starts_at=lab.starts_at + timedelta(hours=1),
                                   ends_at=lab.ends_at + timedelta(hours=1), sequence=lab.sequence)
    sent = summaries(send())
    assert len(sent) == 1
    text = text_part(sent[0])
    assert subject(sent[0]) == "Antworten auf Ihre Einladungen: 1 neue Zeit vorgeschlagen"
    assert "Lars Nilsson (Gast) schlägt eine andere Zeit vor" in text


def test_the_builder_refuses_a_row_for_someone_else(programme, host, coordinator):
    """Another coordinator's visit: a row for the wrong person lists nothing (Stale), never their answers."""
    _visit, lab, *_ = programme
    answer(lab, host, "declined")
    other = PersonFactory(name="Otto Other", email="otto@host.example.org")
    row = OutboxMessage.objects.create(
        key="answers:test", kind=Kind.ANSWER_SUMMARY, person=other, due_at=timezone.now(),
        payload={"since": (timezone.now() - timedelta(hours=1)).isoformat(), "until": timezone.now().isoformat()})
    with pytest.raises(compose.Stale):
        compose.build_message(row)


def test_a_worker_killed_while_sending_the_summary_sends_it_once_and_the_next_window_waits(programme, host,
                                                                                         coordinator, send):
    from notifications import dispatch
    from notifications.reconcile import reconcile_answer_summaries

    _visit, lab, _talk, guest, _ole = programme
    with time_machine.travel(timezone.now(), tick=False) as clock:
        answer(lab, host, "declined")
        reconcile_answer_summaries(now=timezone.now())
        clock.shift(timedelta(seconds=WINDOW + 6))
        claimed = [r for r in dispatch.claim() if r.kind == Kind.ANSWER_SUMMARY]
        assert len(claimed) == 1  # ... and the worker dies here, the row left in "sending"
        answer(lab, guest, "accepted")  # after the window: the next one, which waits for this row's end
        assert reconcile_answer_summaries(now=timezone.now()) == 0
        assert OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY).count() == 1
        assert dispatch.recover_stuck(older_than=timedelta(0)) >= 1
        first = summaries(send())
        assert len(first) == 1 and "declined" in text_part(first[0]) and "Lars" not in text_part(first[0])
        clock.shift(timedelta(seconds=WINDOW + 6))
        second = summaries(send())
        assert len(second) == 1 and "Lars Nilsson (guest) accepted" in text_part(second[0])
    assert list(OutboxMessage.objects.filter(kind=Kind.ANSWER_SUMMARY).values_list("state", flat=True)) == [
        "sent", "sent"]
