"""``load_demo_data`` builds the seed's story and can be run again without duplicating anything."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone as djtz

from directory.models import Person, Topic
from events.models import Event, Meeting, Participation
from visits.models import Visit

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("directory", "events", "visits")


def load() -> str:
    out = StringIO()
    call_command("load_demo_data", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [m for label in DOMAIN_APPS for m in apps.get_app_config(label).get_models()]
    models.append(get_user_model())
    return {m._meta.label: m.objects.count() for m in models}


def test_loading_twice_creates_nothing_new(settings):
    settings.DEBUG = True
    load()
    first = counts()
    sequences = dict(Meeting.objects.values_list("uid", "sequence"))

    load()

    assert counts() == first
    assert dict(Meeting.objects.values_list("uid", "sequence")) == sequences
    assert first["visits.Visit"] == 2 and first["events.Meeting"] >= 7


def test_the_seed_story(settings):
    settings.DEBUG = True
    load()

    assert set(Topic.objects.values_list("slug", flat=True)) >= {"stem-cell-rd", "cell-therapeutics", "horizon-2020",
                                                                   "eureka"}
    visit = Visit.objects.get(status=Visit.Status.CONFIRMED)
    assert visit.host_organisation.kind == "research_centre"
    assert visit.delegation.organisation.kind == "cluster_agency"
    members = list(visit.delegation.members.all())
    assert len(members) == 3
    assert visit.delegation.lead.job_title == "Managing Director"
    assert visit.starts_on > djtz.localdate() and visit.starts_on.weekday() < 5
    assert visit.coordinator is not None and visit.reference.startswith("VIS-")

    programme = list(Meeting.objects.filter(programme_slot__visit=visit).order_by("starts_at"))
    assert len(programme) >= 5
    kinds = {m.kind for m in programme}
    assert {"tour", "meal", "meeting"} <= kinds
    assert all(m.status == "scheduled" and m.room is not None and m.timezone == "Europe/Berlin" for m in programme)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert {m.starts_at.astimezone(berlin).date() for m in programme} == {visit.starts_on}
    assert programme[-1].ends_at - programme[0].starts_at <= timedelta(hours=6)  # a half-day programme
    rd = next(m for m in programme if "R&D" in m.title)
    assert rd.agenda_items.count() >= 3
    assert rd.participations.filter(role="chair").exists()
    for meeting in programme:  # the whole delegation is invited to every part of the programme
        guests = set(meeting.participations.filter(role="guest").values_list("person_id", flat=True))
        assert {m.pk for m in members} <= guests

    pending = Visit.objects.get(status=Visit.Status.REQUESTED)
    assert pending.delegation.organisation != visit.delegation.organisation
    assert pending.preferred_windows.exists()

    events = Event.objects.filter(is_public=True)
    assert events.count() == 2
    for event in events:
        assert event.meetings.filter(status="scheduled", starts_at__gt=djtz.now()).exists()

    User = get_user_model()
    coordinator, host = User.objects.get(username="coordinator"), User.objects.get(username="host")
    assert coordinator.is_staff and coordinator.is_superuser and coordinator.check_password("demo")
    assert not host.is_staff and host.check_password("demo")  # a host is not a coordinator
    host_person = Person.objects.get(user=host)
    hosted = Participation.objects.filter(person=host_person, role="host", meeting__programme_slot__visit=visit)
    assert hosted.exists()


def test_no_demo_users_without_debug(settings):
    settings.DEBUG = False
    output = load()
    assert not get_user_model().objects.filter(username__in=["coordinator", "host"]).exists()
    assert "DEBUG is off" in output
    assert Visit.objects.filter(status=Visit.Status.CONFIRMED).exists()


def test_staff_have_working_hours_an_absence_and_rooms_bookable_hours(settings):
    """So the planner shows availability and a proposal has real limits (loaded once, kept on re-runs)."""
    from datetime import time

    from availability.models import Absence, WeeklyHours
    from availability.selectors import busy_intervals
    from events.models import Room

    settings.DEBUG = True
    load()
    grants = Person.objects.get(email="f.hartmann@stemcell-centre.example.org")
    director = Person.objects.get(job_title="Scientific Director")
    hours = {(h.weekday, h.start, h.end) for h in WeeklyHours.objects.filter(person=grants)}
    assert hours == {*((d, time(9), time(17)) for d in range(4)), (4, time(9), time(13))}
    assert WeeklyHours.objects.filter(person=director).count() == 5
    absence = Absence.objects.get(person=director)
    pending = Visit.objects.get(status=Visit.Status.REQUESTED)
    first_window = pending.preferred_windows.order_by("start").first()
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert absence.starts_at.astimezone(berlin).date() == first_window.start
    assert all(r.bookable_from is not None and r.bookable_until is not None for r in Room.objects.all())
    # No demo meeting goes against anyone's working hours, absence or the room's bookable hours.
    from availability.services import meeting_availability_problems

    for meeting in Meeting.objects.all():
        problems = meeting_availability_problems(starts_at=meeting.starts_at, ends_at=meeting.ends_at,
                                                 people=list(meeting.participants.all()), room=meeting.room)
        assert problems == [], (meeting.title, problems)
    visit = Visit.objects.get(status=Visit.Status.CONFIRMED)
    day_start = djtz.make_aware(djtz.datetime.combine(visit.starts_on, time(0)), berlin)
    busy = busy_intervals(people=[grants.pk], rooms=[], start=day_start, end=day_start + timedelta(days=1))
    assert busy.people[grants.pk]  # outside 09:00–17:00 at least

    WeeklyHours.objects.filter(person=grants, weekday=0).update(end=time(15))  # a coordinator's later edit
    load()
    assert WeeklyHours.objects.get(person=grants, weekday=0).end == time(15)
    assert Absence.objects.filter(person=director).count() == 1
