"""The coordinator's admin: every page renders, and writes go through the services.

Posts are built like the browser sends them (split date/time widgets, inline management forms), so
the tests exercise the real admin views, forms and formsets.
"""

from __future__ import annotations

from datetime import time, timedelta
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from directory.models import Person
from events import services as event_services
from events.models import AgendaItem, Meeting, Participation
from events.services import ParticipantSpec
from tests.domain.conftest import BERLIN, berlin
from tests.factories import PersonFactory, RoomFactory, UserFactory
from visits import booking
from visits import services as visit_services
from visits.models import ProgrammeSlot, Visit

pytestmark = pytest.mark.django_db

R = Participation.Role
NINE, TEN, ELEVEN = berlin(2030, 6, 3, 9), berlin(2030, 6, 3, 10), berlin(2030, 6, 3, 11)


@pytest.fixture
def coordinator(client):
    user = UserFactory(username="coord-admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def management(prefix: str, total: int, initial: int) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def meeting_post(meeting: Meeting | None = None, *, participants=(), agenda=(), **fields) -> dict:
    """Form data for the meeting change/add page; ``participants`` are (person, role) added as new rows."""
    base = {
        "title": meeting.title if meeting else "Admin meeting",
        "kind": meeting.kind if meeting else "meeting",
        "event": meeting.event_id or "" if meeting else "",
        "visit": "",
        "description": meeting.description if meeting else "",
        "starts_at": meeting.starts_at if meeting else NINE,
        "ends_at": meeting.ends_at if meeting else TEN,
        "timezone": meeting.timezone if meeting else "Europe/Berlin",
        "room": (meeting.room_id or "") if meeting else "",
        "location": meeting.location if meeting else "",
        "online_url": meeting.online_url if meeting else "",
    }
    if meeting is not None:
        slot = ProgrammeSlot.objects.filter(meeting=meeting).first()
        base["visit"] = slot.visit_id if slot else ""
    base.update(fields)
    data = {}
    for key, value in base.items():
        if key in ("starts_at", "ends_at"):
            local = value.astimezone(BERLIN)
            data[f"{key}_0"], data[f"{key}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
        else:
            data[key] = "" if value is None else str(getattr(value, "pk", value))
    existing = list(meeting.participations.all()) if meeting else []
    data.update(management("participations", len(existing) + len(participants), len(existing)))
    for i, p in enumerate(existing):
        data.update({f"participations-{i}-id": p.pk, f"participations-{i}-meeting": meeting.pk,
                     f"participations-{i}-person": p.person_id, f"participations-{i}-role": p.role})
    for j, (person, role) in enumerate(participants, start=len(existing)):
        data.update({f"participations-{j}-person": person.pk, f"participations-{j}-role": role})
    items = list(meeting.agenda_items.all()) if meeting else []
    data.update(management("agenda_items", len(items) + len(agenda), len(items)))
    for i, item in enumerate(items):
        data.update({f"agenda_items-{i}-id": item.pk, f"agenda_items-{i}-meeting": meeting.pk,
                     f"agenda_items-{i}-position": item.position, f"agenda_items-{i}-title": item.title,
                     f"agenda_items-{i}-minutes": item.minutes or ""})
    for j, (title, minutes) in enumerate(agenda, start=len(items)):
        data.update({f"agenda_items-{j}-position": j, f"agenda_items-{j}-title": title,
                     f"agenda_items-{j}-minutes": minutes})
    data.update(management("revisions", meeting.revisions.count() if meeting else 0,
                           meeting.revisions.count() if meeting else 0))
    for i, rev in enumerate(meeting.revisions.all() if meeting else []):
        data[f"revisions-{i}-id"] = rev.pk
        data[f"revisions-{i}-meeting"] = meeting.pk
    data["_save"] = "Save"
    return data


def errors_of(response) -> str:
    assert response.status_code == 200, response.status_code
    text = response.content.decode()
    assert "errornote" in text or "errorlist" in text, "expected the form to be shown again with errors"
    return text


# --- every page renders ------------------------------------------------------------------------


def test_every_admin_page_renders_with_the_demo_data(client, coordinator, settings):
    settings.DEBUG = True
    call_command("load_demo_data", stdout=StringIO())
    checked = 0
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("directory", "events", "visits"):
            continue
        info = model._meta.app_label, model._meta.model_name
        assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200, info
        assert client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "stem"}).status_code == 200, info
        if model_admin.has_add_permission(_request(coordinator)):
            assert client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200, info
        obj = model.objects.first()
        if obj is not None:
            assert client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200, info
        checked += 1
    assert checked >= 12
    visit = Visit.objects.get(status=Visit.Status.CONFIRMED)
    page = client.get(reverse("admin:visits_visit_change", args=[visit.pk])).content.decode()
    assert visit.reference in page and "Lab tour" in page and "Add a meeting to this programme" in page


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_autocomplete_finds_people_for_the_participant_inline(client, coordinator):
    PersonFactory(name="Dr. Tobias Brandt")
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "events", "model_name": "participation", "field_name": "person", "term": "Brandt",
    })
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["text"].startswith("Dr. Tobias Brandt")


# --- meetings are written through events.services -------------------------------------------


def test_adding_a_meeting_with_participants_and_agenda(client, coordinator):
    room, host, guest = RoomFactory(), PersonFactory(), PersonFactory()

    response = client.post(reverse("admin:events_meeting_add"), meeting_post(
        room=room, participants=[(host, R.HOST), (guest, R.GUEST)], agenda=[("Stem cells", 20), ("EU funding", 15)],
    ))

    assert response.status_code == 302, response.content.decode()[:3000]
    meeting = Meeting.objects.get()
    assert (meeting.starts_at, meeting.ends_at, meeting.room) == (NINE, TEN, room)
    assert meeting.uid and meeting.status == Meeting.Status.SCHEDULED
    assert set(meeting.participations.values_list("person_id", "role", "blocks_time")) == {
        (host.pk, R.HOST, True), (guest.pk, R.GUEST, False)
    }
    assert all(p.starts_at == NINE for p in meeting.participations.all())
    assert list(meeting.agenda_items.values_list("title", "minutes")) == [("Stem cells", 20), ("EU funding", 15)]


def test_moving_a_meeting_raises_sequence_and_moves_its_participations(client, coordinator):
    host = PersonFactory()
    meeting = event_services.meeting_create(title="Tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                            participants=[ParticipantSpec(host, R.HOST)])

    response = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                           meeting_post(meeting, starts_at=TEN, ends_at=ELEVEN))

    assert response.status_code == 302, response.content.decode()[:3000]
    meeting.refresh_from_db()
    assert (meeting.starts_at, meeting.sequence) == (TEN, 1)
    assert Participation.objects.get(meeting=meeting).starts_at == TEN


def test_saving_without_changes_keeps_sequence(client, coordinator):
    meeting = event_services.meeting_create(title="Tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                            agenda_items=[event_services.AgendaSpec("Intro")])

    response = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]), meeting_post(meeting))

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_room_clash_is_a_form_error_naming_the_other_meeting(client, coordinator):
    room = RoomFactory()
    event_services.meeting_create(title="Board meeting", starts_at=NINE, ends_at=TEN, room=room)
    later = event_services.meeting_create(title="Later", starts_at=TEN, ends_at=ELEVEN, room=room)

    response = client.post(reverse("admin:events_meeting_change", args=[later.pk]),
                           meeting_post(later, starts_at=berlin(2030, 6, 3, 9, 30)))

    assert "Board meeting" in errors_of(response)
    later.refresh_from_db()
    assert (later.starts_at, later.sequence) == (TEN, 0)


def test_busy_host_is_a_form_error(client, coordinator):
    host = PersonFactory()
    event_services.meeting_create(title="Lab tour", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                  participants=[ParticipantSpec(host, R.HOST)])

    response = client.post(reverse("admin:events_meeting_add"),
                           meeting_post(room=RoomFactory(), participants=[(host, R.CHAIR)]))

    assert "Lab tour" in errors_of(response)
    assert Meeting.objects.count() == 1


def test_end_before_start_is_a_field_error(client, coordinator):
    response = client.post(reverse("admin:events_meeting_add"), meeting_post(starts_at=TEN, ends_at=NINE))
    assert "must end after it starts" in errors_of(response)
    assert not Meeting.objects.exists()


def test_a_refusal_only_the_service_knows_is_shown_not_raised(client, coordinator):
    # Opening hours are checked by the service, after the form validated: the save is rolled back
    # and the form comes back with the service's message.
    room = RoomFactory(bookable_from=time(8), bookable_until=time(18))

    response = client.post(reverse("admin:events_meeting_add"), meeting_post(
        room=room, starts_at=berlin(2030, 6, 3, 19), ends_at=berlin(2030, 6, 3, 20),
        participants=[(PersonFactory(), R.HOST)],
    ))

    assert "can be booked from" in errors_of(response)
    assert not Meeting.objects.exists() and not Participation.objects.exists()


def test_cancel_action_cancels_through_the_service(client, coordinator):
    meeting = event_services.meeting_create(title="Tour", starts_at=NINE, ends_at=TEN, room=RoomFactory())

    # First the action asks (a cancellation reaches every participant and cannot be undone) …
    response = client.post(reverse("admin:events_meeting_changelist"),
                           {"action": "cancel_meetings", "_selected_action": [meeting.pk]})
    assert response.status_code == 200 and "Yes, cancel and notify participants" in response.content.decode()
    meeting.refresh_from_db()
    assert (meeting.status, meeting.sequence) == (Meeting.Status.SCHEDULED, 0)
    # … then cancels on confirmation (twice changes nothing more).
    for _ in range(2):
        response = client.post(reverse("admin:events_meeting_changelist"),
                               {"action": "cancel_meetings", "_selected_action": [meeting.pk], "confirm": "yes"},
                               follow=True)
        assert response.status_code == 200

    meeting.refresh_from_db()
    assert (meeting.status, meeting.sequence) == (Meeting.Status.CANCELLED, 1)
    # No delete: participants must receive a cancellation instead.
    assert client.get(reverse("admin:events_meeting_delete", args=[meeting.pk])).status_code == 403


def test_cancelled_meeting_cannot_be_edited(client, coordinator):
    meeting = event_services.meeting_create(title="Tour", starts_at=NINE, ends_at=TEN, room=RoomFactory())
    event_services.meeting_cancel(meeting=meeting)

    client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                meeting_post(meeting, title="Changed", starts_at=TEN, ends_at=ELEVEN))

    meeting.refresh_from_db()
    assert (meeting.title, meeting.starts_at, meeting.sequence) == ("Tour", NINE, 1)


def test_agenda_edit_in_the_admin_raises_sequence_once(client, coordinator):
    meeting = event_services.meeting_create(title="R&D", starts_at=NINE, ends_at=TEN, room=RoomFactory(),
                                            agenda_items=[event_services.AgendaSpec("Intro", minutes=10)])

    response = client.post(reverse("admin:events_meeting_change", args=[meeting.pk]),
                           meeting_post(meeting, agenda=[("Next steps", 15)]))

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.sequence == 1
    assert list(AgendaItem.objects.filter(meeting=meeting).values_list("title", flat=True)) == ["Intro", "Next steps"]


# --- visits ------------------------------------------------------------------------------------


def post_action(client, action: str, visits) -> list[str]:
    response = client.post(reverse("admin:visits_visit_changelist"),
                           {"action": action, "_selected_action": [v.pk for v in visits]}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_status_actions_follow_the_state_machine(client, coordinator, submit_request):
    requested, other = submit_request(), submit_request()

    assert "Confirmed" in " ".join(post_action(client, "confirm_visits", [requested]))
    requested.refresh_from_db()
    assert requested.status == Visit.Status.CONFIRMED

    # A refused transition is a message next to the successful ones, not a 500.
    notes = " ".join(post_action(client, "decline_visits", [requested, other]))
    assert requested.reference in notes and "cannot become declined" in notes
    requested.refresh_from_db()
    other.refresh_from_db()
    assert (requested.status, other.status) == (Visit.Status.CONFIRMED, Visit.Status.DECLINED)

    assert "has not ended" in " ".join(post_action(client, "complete_visits", [requested]))
    post_action(client, "cancel_visits", [requested])
    requested.refresh_from_db()
    assert requested.status == Visit.Status.CANCELLED


def test_confirm_action_records_the_coordinator_and_typed_dates(client, coordinator, submit_request):
    person = PersonFactory(user=coordinator)
    visit = submit_request()
    day = visit.preferred_windows.first().start + timedelta(days=3)
    Visit.objects.filter(pk=visit.pk).update(starts_on=day, ends_on=day)

    post_action(client, "confirm_visits", [visit])

    visit.refresh_from_db()
    assert (visit.status, visit.starts_on, visit.coordinator) == (Visit.Status.CONFIRMED, day, person)


def test_programme_meeting_added_from_the_visit_page(client, coordinator, submit_request):
    visit = visit_services.visit_confirm(visit=submit_request())
    day = visit.starts_on
    assert client.get(reverse("admin:events_meeting_add"), {"visit": visit.pk}).status_code == 200

    response = client.post(reverse("admin:events_meeting_add"), meeting_post(
        visit=visit.pk, room=RoomFactory(), starts_at=berlin(day.year, day.month, day.day, 10),
        ends_at=berlin(day.year, day.month, day.day, 11),
    ))

    assert response.status_code == 302
    assert ProgrammeSlot.objects.get().visit == visit
    page = client.get(reverse("admin:visits_visit_change", args=[visit.pk])).content.decode()
    assert "Admin meeting" in page


def test_adding_a_visit_in_the_admin_gets_a_reference(client, coordinator, submit_request):
    template = submit_request()
    response = client.post(reverse("admin:visits_visit_add"), {
        "delegation": template.delegation_id, "contact": template.contact_id, "language": "en",
        "timezone": "Europe/Berlin", "purpose": "Phoned in", "delegation_mail": "programme",
        **management("preferred_windows", 0, 0), **management("programme", 0, 0),
        **management("messages", 0, 0), **management("messages-2", 0, 0),  # history + new-note inlines
        "_save": "Save",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    visit = Visit.objects.exclude(pk=template.pk).get()
    assert visit.reference.startswith("VIS-") and visit.reference != template.reference
    assert visit.status == Visit.Status.REQUESTED


def test_duplicate_email_in_another_case_is_a_form_error(client, coordinator):
    PersonFactory(email="anna@example.org")
    response = client.post(reverse("admin:directory_person_add"), {
        "name": "Anna", "email": "ANNA@example.org", "language": "en", "timezone": "Europe/Berlin", "_save": "Save",
    })
    errors_of(response)
    assert Person.objects.filter(email__iexact="anna@example.org").count() == 1


def visit_post(visit: Visit, **fields) -> dict:
    data = {
        "delegation": visit.delegation_id, "contact": visit.contact_id, "host_organisation": "", "venue": "",
        "coordinator": visit.coordinator_id or "", "purpose": visit.purpose, "language": visit.language,
        "timezone": visit.timezone, "starts_on": visit.starts_on or "", "ends_on": visit.ends_on or "",
        "decision_note": visit.decision_note, "delegation_mail": visit.delegation_mail, "_save": "Save",
    }
    windows = list(visit.preferred_windows.all())
    data.update(management("preferred_windows", len(windows), len(windows)))
    for i, w in enumerate(windows):
        data.update({f"preferred_windows-{i}-id": w.pk, f"preferred_windows-{i}-visit": visit.pk,
                     f"preferred_windows-{i}-start": w.start, f"preferred_windows-{i}-end": w.end})
    slots = list(visit.programme.all())
    data.update(management("programme", len(slots), len(slots)))
    for i, slot in enumerate(slots):
        data.update({f"programme-{i}-id": slot.pk, f"programme-{i}-visit": visit.pk,
                     f"programme-{i}-meeting": slot.meeting_id})
    messages_ = list(visit.messages.all())
    data.update(management("messages", len(messages_), len(messages_)))
    for i, m in enumerate(messages_):
        data.update({f"messages-{i}-id": m.pk, f"messages-{i}-visit": visit.pk})
    data.update(management("messages-2", 1, 0))
    data.update({"messages-2-0-kind": "note", "messages-2-0-body": ""})
    data.update({k: v for k, v in fields.items()})
    return data


def test_coordinator_note_goes_through_the_service_and_closed_visits_refuse_it(client, coordinator, submit_request):
    visit = submit_request()
    url = reverse("admin:visits_visit_change", args=[visit.pk])

    response = client.post(url, visit_post(visit, **{"messages-2-0-body": "Lab tour needs safety briefing"}))

    assert response.status_code == 302, response.content.decode()[:3000]
    note = visit.messages.get()
    assert (note.body, note.from_requester) == ("Lab tour needs safety briefing", False)

    visit_services.visit_decline(visit=visit)
    visit.refresh_from_db()
    response = client.post(url, visit_post(visit, **{"messages-2-0-body": "Too late"}), follow=True)
    assert response.status_code == 200
    assert "messages are closed" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert visit.messages.count() == 1


def test_detaching_a_meeting_from_the_programme_keeps_the_meeting(client, coordinator, submit_request):
    visit = visit_services.visit_confirm(visit=submit_request())
    day = visit.starts_on
    meeting = booking.meeting_create(
        visit=visit, title="Tour", room=RoomFactory(), starts_at=berlin(day.year, day.month, day.day, 10),
        ends_at=berlin(day.year, day.month, day.day, 11),
    )
    data = visit_post(visit, **{"programme-0-DELETE": "on"})

    response = client.post(reverse("admin:visits_visit_change", args=[visit.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert not ProgrammeSlot.objects.exists()
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED


def test_programme_actions_send_and_download_the_programme(client, coordinator):
    from tests.support.programmes import build_long_programme

    programme = build_long_programme(language="en")
    visit = programme.visit
    response = client.post(reverse("admin:visits_visit_changelist"),
                           {"action": "programme_pdf", "_selected_action": [visit.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="programme-{visit.reference}-en.pdf"'
    assert "Programme sent" in " ".join(post_action(client, "send_programme", [visit]))
    visit.refresh_from_db()
    assert visit.programme_sent_at is not None
    page = client.get(reverse("admin:visits_visit_change", args=[visit.pk])).content.decode()
    link = reverse("admin:visits_visit_programme", args=[visit.pk])
    assert f'href="{link}?lang=de"' in page
    german = client.get(link, {"lang": "de"})
    assert german.status_code == 200 and german["Content-Language"] == "de"
    assert client.get(link, {"lang": "fr"}).status_code == 400
