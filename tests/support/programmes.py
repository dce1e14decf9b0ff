"""A long programme for the document and mail tests: 3 days, 20 meetings, long German titles.

Built through the real services (``visit_request_submit``, ``visit_confirm``, ``visits.booking``), so
what the document shows is what production would store. Hosts have job titles, the venue has
directions, the coordinator a phone number, some meetings an agenda or an online link.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from core.errors import DomainError
from directory.models import Person
from events.models import Meeting, Participation, Room, Venue
from events.selectors import meeting_conflicts
from events.services import AgendaSpec, ParticipantSpec
from tests.factories import PersonFactory, RoomFactory, TopicFactory, VenueFactory
from visits import booking
from visits import services as visit_services
from visits.models import Visit

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")

#: (day index, start, minutes, title, room key) — twenty meetings over three days.
LONG_PROGRAMME = [
    (0, (9, 0), 30, "Begrüßung und Vorstellung der Delegation durch die wissenschaftliche Direktorin", "board"),
    (0, (9, 30), 60, "Laborführung: Stammzellplattform, Organoid-Labor und GMP-Reinraumeinrichtung", "lab"),
    (0, (10, 45), 75, "Forschungskooperation in der regenerativen Medizin: Plattformen, offene Fragen und Partner", "board"),
    (0, (12, 0), 60, "Mittagessen in der Cafeteria", "cafeteria"),
    (0, (13, 15), 45, "Zelltherapeutika vom Labor bis zur klinischen Herstellung: Qualitätssicherung", "seminar"),
    (0, (14, 15), 60, "Technologietransfer, Ausgründungen und Patentstrategie am Forschungscampus", "board"),
    (0, (15, 30), 45, "Rundgang Gründerzentrum und Gespräch mit Start-up-Geschäftsführerinnen", "seminar"),
    (1, (9, 0), 60, "EU-Förderprogramme: Horizont Europa, Eureka und grenzüberschreitende Verbundprojekte", "seminar"),
    (1, (10, 15), 45, "Datenmanagement, Biobanken und Datenschutz in multizentrischen Studien", "board"),
    (1, (11, 15), 60, "Klinische Translation: Zusammenarbeit mit Universitätskliniken und Studienzentren", "board"),
    (1, (12, 30), 60, "Mittagessen mit den Arbeitsgruppenleiterinnen und Arbeitsgruppenleitern", "cafeteria"),
    (1, (13, 45), 90, "Workshop: Gemeinsame Projektideen für Zell- und Gentherapien entwickeln", "seminar"),
    (1, (15, 30), 30, "Kaffeepause", "cafeteria"),
    (1, (16, 0), 60, "Nachwuchsförderung: Graduiertenschule, Austauschprogramme und Stipendien", "board"),
    (2, (9, 0), 45, "Bildgebung und Einzelzellanalytik: Besichtigung der Technologieplattformen", "lab"),
    (2, (10, 0), 60, "Industriepartnerschaften: Auftragsforschung und gemeinsame Entwicklungsvorhaben", "board"),
    (2, (11, 15), 45, "Regulatorische Anforderungen an Arzneimittel für neuartige Therapien (ATMP)", "seminar"),
    (2, (12, 15), 60, "Mittagessen", "cafeteria"),
    (2, (13, 30), 60, "Abschlussrunde: Vereinbarungen, nächste Schritte und Ansprechpersonen", "board"),
    (2, (14, 45), 45, "Pressegespräch und Fototermin vor dem Hauptgebäude des Forschungszentrums", "seminar"),
]


@dataclass
class LongProgramme:
    visit: Visit
    meetings: list[Meeting]
    days: list[date]
    rooms: dict[str, Room]
    venue: Venue
    coordinator: Person
    members: list[Person]


def first_weekday(days_ahead: int = 21) -> date:
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() >= 3:  # three working days in a row: start Monday to Wednesday
        day += timedelta(days=1)
    return day


def build_long_programme(*, language: str = "de", send: bool = False) -> LongProgramme:
    venue = VenueFactory(
        name="Forschungscampus Berlin-Buch", street="Robert-Rössle-Straße 10", postcode="13125", city="Berlin",
        directions="S-Bahn S2 bis Berlin-Buch, dann Bus 893 bis „Campus Nord“. Anmeldung am Empfang in Haus A.",
    )
    rooms = {key: RoomFactory(venue=venue, name=name, capacity=40) for key, name in [
        ("board", "Konferenzraum Humboldt (Haus A, 3. OG)"), ("lab", "Stammzelllabor B2.14"),
        ("seminar", "Seminarraum Virchow"), ("cafeteria", "Cafeteria")]}
    coordinator = PersonFactory(name="Sabine Krüger", email="s.krueger@campus.example", job_title="Besuchskoordination",
                                phone="+49 30 9406 2711")
    hosts = [
        PersonFactory(name="Prof. Dr. Elena Marković", email="e.markovic@campus.example",
                      job_title="Wissenschaftliche Direktorin"),
        PersonFactory(name="Dr. Tobias Brandt", email="t.brandt@campus.example", job_title="Leiter Zelltherapielabor"),
        PersonFactory(name="Dr. Katrin Albers", email="k.albers@campus.example",
                      job_title="Leiterin Internationale Zusammenarbeit"),
    ]
    topic = TopicFactory(name="Regenerative Medizin", slug="regenerative-medizin")
    first = first_weekday()
    data = visit_services.VisitRequestInput(
        organisation_name="Life Science Nord Management GmbH", organisation_country="DE",
        contact_name="Dr. Hanna Lorenzen", contact_email="h.lorenzen@lsn.example", contact_language=language,
        delegation_name="Delegation Life Science Nord", delegation_size=3,
        members=[visit_services.MemberSpec("Jonas Petersen", "j.petersen@lsn.example", "Projektmanager EU-Förderung"),
                 visit_services.MemberSpec("Dr. Mareike Jessen", "m.jessen@lsn.example", "Clustermanagerin Biotech")],
        preferred_windows=[(first, first + timedelta(days=2))], purpose="Kooperation",
    )
    visit = visit_services.visit_request_submit(data=data)
    Visit.objects.filter(pk=visit.pk).update(venue=venue)
    visit = visit_services.visit_confirm(visit=visit, by=coordinator, starts_on=first, ends_on=first + timedelta(days=2),
                                         timezone="Europe/Berlin")
    members = list(visit.delegation.members.order_by("pk"))
    days = [first + timedelta(days=i) for i in range(3)]
    meetings = []
    for index, (day, (hh, mm), minutes, title, room) in enumerate(LONG_PROGRAMME):
        start = datetime.combine(days[day], time(hh, mm), tzinfo=BERLIN)
        host = hosts[index % len(hosts)]
        agenda = []
        if index % 4 == 2:
            agenda = [AgendaSpec("Vorstellung der Plattformen und laufenden Projekte", topic=topic, presenter=host,
                                 minutes=20),
                      AgendaSpec("Diskussion möglicher Verbundvorhaben", topic=topic, minutes=25)]
        meetings.append(booking.meeting_create(
            visit=visit, booker=booking.COORDINATOR, override=True, title=title, starts_at=start,
            ends_at=start + timedelta(minutes=minutes), room=rooms[room],
            online_url="https://meet.example.org/campus-delegation" if index == 7 else "",
            participants=[ParticipantSpec(host, Participation.Role.HOST)]
            + [ParticipantSpec(m, Participation.Role.GUEST) for m in members],
            agenda_items=agenda,
        ))
    if send:
        visit = visit_services.visit_programme_send(visit=visit, by=coordinator)
    return LongProgramme(visit, meetings, days, rooms, venue, coordinator, members)


def free_time_for(meeting: Meeting) -> datetime:
    """A start on the visit's days where the meeting could move: its room free and everyone available."""
    length = meeting.ends_at - meeting.starts_at
    people = [ParticipantSpec(person=p.person, role=p.role)
              for p in Participation.objects.filter(meeting=meeting).select_related("person")]
    for day in (1, 0):
        for quarter in sorted(range(-16, 24), key=abs):
            start = meeting.starts_at + timedelta(days=day, minutes=15 * quarter)
            if start == meeting.starts_at or meeting_conflicts(starts_at=start, ends_at=start + length,
                                                               room_id=meeting.room_id, person_ids=[],
                                                               exclude_meeting_id=meeting.pk):
                continue
            try:
                booking.meeting_check(meeting=meeting, starts_at=start, ends_at=start + length, room=meeting.room,
                                      participants=people, visit=meeting.programme_slot.visit,
                                      booker=booking.COORDINATOR)
            except DomainError:
                continue
            return start
    raise AssertionError("no free time for the meeting on the visit's days")
