"""Demo data telling the story Visitdesk was born from, always in the near future.

A stem cell research centre in Berlin hosts the managing director of a life-science cluster agency
and two colleagues for a half-day programme about stem cell R&D, cell therapeutics and joint EU
projects (Horizon 2020, Eureka). Around it: a pending request from another network, two public
events, and (in DEBUG only) the users ``coordinator`` and ``host`` with password ``demo``. The
centre's staff have working hours (Mon–Fri 09:00–17:00; the EU grants officer leaves at 13:00 on
Fridays, the coordinator works 08:30–16:30), the scientific director is away at a conference on the
pending request's first preferred day, and the rooms have bookable hours, so the planner shows
availability and a programme proposal has real limits to work with.

Everything is written through the same services the API uses, so the demo exercises the real
workflow (references, SEQUENCE, overlap checks, signals). Re-running is safe: rows are found by
natural keys (e-mail, slug, organisation name, delegation name) and an existing demo visit or event
keeps its meetings, so nothing is duplicated and no one is re-invited. Working hours and the
absence are only added to people who have none yet (a coordinator's later edits stay).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone as djtz

from availability import services as availability_services
from availability.models import Absence, WeeklyHours
from directory.models import Organisation, Person, Topic
from directory.services import organisation_get_or_create, person_get_or_create
from events.models import Event, Meeting, Participation, Room, Venue
from visits import booking
from visits import services as visit_services
from visits.booking import AgendaSpec, ParticipantSpec
from visits.models import ProgrammeKind, Visit

TZ_NAME = "Europe/Berlin"
TZ = zoneinfo.ZoneInfo(TZ_NAME)
DEMO_PASSWORD = "demo"  # documented demo credential, created only when DEBUG is on

HOST_ORG = "Spree Stem Cell Research Centre"
CLUSTER_ORG = "Life Science Nord Management GmbH"
CLUSTER_DELEGATION = "Life Science Nord delegation"
PENDING_ORG = "Baltic Regenerative Medicine Network"
PENDING_DELEGATION = "Baltic Regenerative Medicine Network delegation"

TOPICS = [
    ("stem-cell-rd", "Stem cell R&D", "Pluripotent and adult stem cell research, organoids, disease models."),
    ("cell-therapeutics", "Cell therapeutics", "Cell and gene therapies from the lab bench to GMP manufacturing."),
    ("horizon-2020", "EU funding: Horizon 2020", "Collaborative research projects under the EU framework programme."),
    ("eureka", "Eureka", "Market-oriented R&D projects with industry partners across Europe (Eureka network)."),
]


@dataclass(frozen=True)
class PersonSeed:
    key: str
    name: str
    email: str
    job_title: str
    language: str = "en"


CENTRE_PEOPLE = [
    PersonSeed("director", "Prof. Dr. Elena Marković", "e.markovic@stemcell-centre.example.org", "Scientific Director"),
    PersonSeed("host", "Dr. Katrin Albers", "k.albers@stemcell-centre.example.org",
               "Head of International Cooperation", "de"),
    PersonSeed("lab", "Dr. Tobias Brandt", "t.brandt@stemcell-centre.example.org", "Head of the Cell Therapy Lab", "de"),
    PersonSeed("grants", "Dr. Felix Hartmann", "f.hartmann@stemcell-centre.example.org", "EU Grants Office"),
    PersonSeed("coordinator", "Sabine Krüger", "s.krueger@stemcell-centre.example.org", "Visit Coordinator", "de"),
]
DELEGATION_PEOPLE = [
    PersonSeed("md", "Dr. Hanna Lorenzen", "h.lorenzen@lsn-cluster.example.org", "Managing Director", "de"),
    PersonSeed("projects", "Jonas Petersen", "j.petersen@lsn-cluster.example.org", "Project Manager EU Funding"),
    PersonSeed("biotech", "Dr. Mareike Jessen", "m.jessen@lsn-cluster.example.org", "Cluster Manager Biotech & Pharma"),
]


#: Working hours of the centre's staff (weekday → (start, end)); Monday = 0.
OFFICE_HOURS = {d: (time(9), time(17)) for d in range(5)}
STAFF_HOURS = {
    "director": OFFICE_HOURS,
    "host": OFFICE_HOURS,
    "lab": OFFICE_HOURS,
    "grants": {**OFFICE_HOURS, 4: (time(9), time(13))},  # Friday afternoon off
    "coordinator": {d: (time(8, 30), time(16, 30)) for d in range(5)},
}
DIRECTOR_AWAY = "Conference: ISSCR regional meeting, Heidelberg"
VENUE_DIRECTIONS = (
    "S-Bahn S2 to Berlin-Buch, then bus 893 to “Campus Nord” (25 minutes from Berlin Hauptbahnhof). "
    "By car: A10, exit Berlin-Weißensee; visitor parking at gate 2. Please register at the reception in "
    "building A (main entrance)."
)
COORDINATOR_PHONE = "+49 30 9406 2711"


def next_weekday(day: date) -> date:
    """The same day, or the next working day when it falls on a weekend or between Christmas and New Year."""
    while day.weekday() >= 5 or (day.month, day.day) >= (12, 24) or (day.month, day.day) == (1, 1):
        day += timedelta(days=1)
    return day


def local(day: date, hh: int, mm: int = 0) -> datetime:
    """An aware datetime for a Berlin wall-clock time (zoneinfo picks CET or CEST for that day)."""
    return datetime.combine(day, time(hh, mm), tzinfo=TZ)


class Command(BaseCommand):
    help = "Load the demo scenario (idempotent): host centre, cluster delegation visit, pending request, events."

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="Pretend today is this date (YYYY-MM-DD)."
        )

    def handle(self, *args, today: date | None = None, **options):
        today = today or djtz.localdate()
        with transaction.atomic():
            topics = self.load_topics()
            centre, rooms, people = self.load_host_centre(topics)
            visit = self.load_confirmed_visit(today, centre, rooms, people, topics)
            pending = self.load_pending_request(today, centre, topics)
            events = self.load_public_events(today, rooms, people, topics)
            self.load_availability(today, people)
            self.load_users(people)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: visit {visit.reference} ({visit.get_status_display()}, {visit.starts_on}), "
            f"request {pending.reference} ({pending.get_status_display()}), "
            f"events: {', '.join(e.title for e in events)}."
        ))

    # --- vocabulary and host ---------------------------------------------------------------------

    def load_topics(self) -> dict[str, Topic]:
        topics = {}
        for slug, name, description in TOPICS:
            topic = Topic.objects.filter(slug=slug).first() or Topic.objects.filter(name__iexact=name).first()
            if topic is None:
                topic = Topic.objects.create(slug=slug, name=name, description=description)
            topics[slug] = topic
        return topics

    def person(self, seed: PersonSeed, organisation: Organisation) -> Person:
        person, _ = person_get_or_create(
            email=seed.email,
            defaults={
                "name": seed.name,
                "job_title": seed.job_title,
                "organisation": organisation,
                "language": seed.language,
                "timezone": TZ_NAME,
            },
        )
        return person

    def load_host_centre(self, topics):
        centre, _ = organisation_get_or_create(
            name=HOST_ORG,
            country="DE",
            defaults={"kind": Organisation.Kind.RESEARCH_CENTRE, "city": "Berlin",
                      "website": "https://stemcell-centre.example.org"},
        )
        venue, _ = Venue.objects.get_or_create(
            name=f"{HOST_ORG} – Campus",
            defaults={"organisation": centre, "street": "Forschungsallee 10", "postcode": "13125",
                      "city": "Berlin", "country": "DE", "subdivision": "BE", "timezone": TZ_NAME,
                      "directions": VENUE_DIRECTIONS},
        )
        if not venue.subdivision and venue.country == "DE":  # loaded before venues had one: Berlin's holidays
            Venue.objects.filter(pk=venue.pk).update(subdivision="BE")
        if not venue.directions:  # loaded before venues had directions
            Venue.objects.filter(pk=venue.pk).update(directions=VENUE_DIRECTIONS)
        rooms = {}
        for key, name, capacity, hours in [
            ("seminar", "Seminar room", 60, (time(8), time(20))),
            ("lab", "Cell therapy lab", 8, (time(8), time(18))),
            ("board", "Board room", 14, (time(8), time(19))),
            ("cafeteria", "Cafeteria", 120, (time(11), time(15))),
        ]:
            rooms[key], _ = Room.objects.get_or_create(
                venue=venue, name=name,
                defaults={"capacity": capacity, "bookable_from": hours[0], "bookable_until": hours[1]},
            )
            if rooms[key].bookable_from is None and rooms[key].bookable_until is None:  # loaded before rooms had hours
                Room.objects.filter(pk=rooms[key].pk).update(bookable_from=hours[0], bookable_until=hours[1])
        if not rooms["cafeteria"].dining:  # where lunches go (visits.rules: lunch in a room that holds everyone)
            Room.objects.filter(pk=rooms["cafeteria"].pk).update(dining=True)
            rooms["cafeteria"].dining = True
        people = {seed.key: self.person(seed, centre) for seed in CENTRE_PEOPLE}
        if not people["coordinator"].phone:  # whom the delegation calls: printed in the programme
            Person.objects.filter(pk=people["coordinator"].pk).update(phone=COORDINATOR_PHONE)
        expertise = {"director": ["stem-cell-rd", "cell-therapeutics"], "lab": ["stem-cell-rd", "cell-therapeutics"],
                     "grants": ["horizon-2020", "eureka"], "host": ["horizon-2020"]}
        for key, slugs in expertise.items():
            people[key].expertise.add(*(topics[s] for s in slugs))
        return centre, rooms, people

    # --- the seed's visit ------------------------------------------------------------------------

    def load_confirmed_visit(self, today, centre, rooms, people, topics) -> Visit:
        existing = Visit.objects.filter(
            delegation__name=CLUSTER_DELEGATION, delegation__organisation__name=CLUSTER_ORG
        ).first()
        if existing is not None:
            return existing  # keep its programme: re-creating meetings would re-invite everyone

        md, projects, biotech = DELEGATION_PEOPLE
        organisation_get_or_create(
            name=CLUSTER_ORG, country="DE",
            defaults={"kind": Organisation.Kind.CLUSTER_AGENCY, "city": "Hamburg",
                      "website": "https://www.lifesciencenord.de"},
        )
        day = next_weekday(today + timedelta(days=14))
        visit = visit_services.visit_request_submit(
            data=visit_services.VisitRequestInput(
                organisation_name=CLUSTER_ORG,
                organisation_country="DE",
                organisation_website="https://www.lifesciencenord.de",
                contact_name=md.name,
                contact_email=md.email,
                contact_language=md.language,
                delegation_name=CLUSTER_DELEGATION,
                delegation_size=3,
                members=[visit_services.MemberSpec(p.name, p.email, p.job_title) for p in (projects, biotech)],
                preferred_windows=[(day, day)],
                topics=[topics[s] for s in ("stem-cell-rd", "cell-therapeutics", "horizon-2020", "eureka")],
                purpose=(
                    "Explore cross-border R&D cooperation between institutions of the cluster and the centre, "
                    "in particular in stem cell research and cell therapeutics, and joint EU-wide projects "
                    "(Horizon 2020, Eureka)."
                ),
            ),
            host_organisation=centre,
        )
        for seed in DELEGATION_PEOPLE:  # the request form only asks members, not the contact, for a title
            Person.objects.filter(email__iexact=seed.email, job_title="").update(job_title=seed.job_title)
        delegation_people = list(Person.objects.filter(email__in=[p.email for p in DELEGATION_PEOPLE]))
        Visit.objects.filter(pk=visit.pk).update(venue=rooms["board"].venue)
        visit = visit_services.visit_confirm(visit=visit, by=people["coordinator"], starts_on=day, ends_on=day,
                                             timezone=TZ_NAME)
        self.build_programme(visit, day, rooms, people, delegation_people, topics)
        # The coordinator's "Send programme": the delegation gets the whole programme in one mail.
        return visit_services.visit_programme_send(visit=visit, by=people["coordinator"])

    def build_programme(self, visit, day, rooms, people, delegation, topics) -> None:
        guests = [ParticipantSpec(person=p, role=Participation.Role.GUEST) for p in delegation]
        director, host, lab, grants = people["director"], people["host"], people["lab"], people["grants"]
        md = next(p for p in delegation if p.email == DELEGATION_PEOPLE[0].email)
        R = Participation.Role

        def meeting(title, start, end, room, kind, staff, description="", agenda=(), part=""):
            return booking.meeting_create(
                visit=visit, booker=booking.COORDINATOR, programme_kind=part,
                title=title,
                starts_at=local(day, *start),
                ends_at=local(day, *end),
                room=rooms[room],
                kind=kind,
                description=description,
                participants=[ParticipantSpec(person=p, role=role) for p, role in staff] + guests,
                agenda_items=agenda,
            )

        meeting("Welcome and introductions", (9, 30), (10, 0), "board", Meeting.Kind.MEETING,
                [(director, R.CHAIR), (host, R.HOST)],
                "Welcome by the scientific director; the centre and the cluster in ten minutes each.",
                part=ProgrammeKind.WELCOME)
        meeting("Lab tour: stem cell and GMP cell therapy labs", (10, 0), (11, 0), "lab", Meeting.Kind.TOUR,
                [(lab, R.HOST)],
                "Guided tour of the iPSC platform and the clean-room suite. Lab coats are provided.")
        meeting("R&D cooperation: stem cells and cell therapeutics", (11, 15), (12, 30), "board",
                Meeting.Kind.MEETING, [(director, R.CHAIR), (lab, R.PRESENTER), (host, R.HOST)],
                "Where can institutions of the cluster and the centre work together?",
                agenda=[
                    AgendaSpec("Stem cell research at the centre: platforms and open questions",
                               topic=topics["stem-cell-rd"], presenter=lab, minutes=20),
                    AgendaSpec("The cluster: partners, value chain and strategic projects",
                               topic=topics["cell-therapeutics"], presenter=md, minutes=15),
                    AgendaSpec("Cell therapeutics: candidate joint R&D projects",
                               topic=topics["cell-therapeutics"], presenter=director, minutes=25),
                    AgendaSpec("Next steps and contacts", minutes=15),
                ])
        meeting("EU programmes: Horizon 2020 and Eureka", (12, 30), (13, 15), "seminar", Meeting.Kind.TALK,
                [(grants, R.PRESENTER), (host, R.HOST)],
                "Opportunities for joint EU-wide projects for excellence in science.",
                agenda=[
                    AgendaSpec("Horizon 2020 collaborative projects: calls and consortia",
                               topic=topics["horizon-2020"], presenter=grants, minutes=25),
                    AgendaSpec("Eureka: market-oriented projects with industry partners",
                               topic=topics["eureka"], presenter=grants, minutes=20),
                ])
        meeting("Lunch", (13, 15), (14, 15), "cafeteria", Meeting.Kind.MEAL, [(host, R.HOST), (director, R.HOST)],
                part=ProgrammeKind.LUNCH)

    # --- the rest of the desk --------------------------------------------------------------------

    def load_pending_request(self, today, centre, topics) -> Visit:
        existing = Visit.objects.filter(delegation__name=PENDING_DELEGATION).first()
        if existing is not None:
            return existing
        start = next_weekday(today + timedelta(days=35))
        organisation_get_or_create(
            name=PENDING_ORG, country="SE",
            defaults={"kind": Organisation.Kind.CLUSTER_AGENCY, "city": "Malmö",
                      "website": "https://regenerative-baltic.example.org"},
        )
        return visit_services.visit_request_submit(
            data=visit_services.VisitRequestInput(
                organisation_name=PENDING_ORG,
                organisation_country="SE",
                organisation_website="https://regenerative-baltic.example.org",
                contact_name="Dr. Linnea Dahlberg",
                contact_email="linnea.dahlberg@regenerative-baltic.example.org",
                delegation_name=PENDING_DELEGATION,
                delegation_size=4,
                members=[
                    visit_services.MemberSpec("Mikkel Sørensen", "mikkel.sorensen@regenerative-baltic.example.org",
                                              "Business Developer"),
                    visit_services.MemberSpec("Dr. Aino Virtanen", "aino.virtanen@regenerative-baltic.example.org",
                                              "Research Coordinator"),
                ],
                preferred_windows=[(start, start + timedelta(days=1)), (start + timedelta(days=7),
                                                                        start + timedelta(days=8))],
                topics=[topics["cell-therapeutics"], topics["horizon-2020"]],
                purpose="Benchmark GMP cell manufacturing and discuss a joint Horizon consortium.",
            ),
            host_organisation=centre,
        )

    def load_public_events(self, today, rooms, people, topics) -> list[Event]:
        venue = rooms["seminar"].venue
        R = Participation.Role
        # Each on its own day, after the visit's, so the same people are never booked twice.
        visit_day = next_weekday(today + timedelta(days=14))
        info_day = next_weekday(max(today + timedelta(days=21), visit_day + timedelta(days=1)))
        workshop_day = next_weekday(max(today + timedelta(days=28), info_day + timedelta(days=1)))
        plans = [
            (
                "stem-cell-info-day",
                "Stem Cell Info Day",
                Event.Kind.INFO_DAY,
                "Open day for students, patients and partners: what stem cell research can and cannot do.",
                ["stem-cell-rd", "cell-therapeutics"],
                [
                    ("Stem cells explained", local(info_day, 14), local(info_day, 15), "seminar", Meeting.Kind.TALK,
                     [(people["director"], R.PRESENTER)]),
                    ("From the lab to the patient: cell therapies", local(info_day, 15, 30), local(info_day, 16, 30),
                     "seminar", Meeting.Kind.TALK, [(people["lab"], R.PRESENTER)]),
                ],
            ),
            (
                "eu-funding-workshop",
                "EU funding workshop: Horizon 2020 and Eureka",
                Event.Kind.WORKSHOP,
                "Hands-on workshop on building consortia and writing proposals for joint EU projects.",
                ["horizon-2020", "eureka"],
                [
                    ("Building a consortium", local(workshop_day, 9), local(workshop_day, 12), "seminar",
                     Meeting.Kind.MEETING, [(people["grants"], R.CHAIR), (people["host"], R.HOST)]),
                ],
            ),
        ]
        events = []
        for slug, title, kind, description, topic_slugs, sessions in plans:
            event, _ = Event.objects.get_or_create(
                slug=slug, defaults={"title": title, "kind": kind, "description": description, "venue": venue}
            )
            event.topics.add(*(topics[s] for s in topic_slugs))
            if not event.meetings.exists():
                for title_, start, end, room, mkind, staff in sessions:
                    booking.meeting_create(
                        booker=booking.COORDINATOR, title=title_, starts_at=start, ends_at=end, room=rooms[room], kind=mkind, event=event,
                        participants=[ParticipantSpec(person=p, role=role) for p, role in staff],
                    )
            events.append(event)
        return events

    # --- availability -------------------------------------------------------------------------------

    def load_availability(self, today, people) -> None:
        """Working hours for the staff, and the director's conference day (after every demo meeting is booked).

        The conference falls on the pending request's first preferred day, so proposing its
        programme shows the solver working around an absent expert (Dr. Brandt hosts cell therapeutics).
        """
        for key, hours in STAFF_HOURS.items():
            person = people[key]
            if WeeklyHours.objects.filter(person=person).exists():
                continue
            availability_services.working_hours_set(
                person=person,
                weekly=[availability_services.WeeklySpec(weekday=d, start=a, end=b) for d, (a, b) in hours.items()],
                exceptions=[],
            )
        director = people["director"]
        if not Absence.objects.filter(person=director, reason=DIRECTOR_AWAY).exists():
            day = next_weekday(today + timedelta(days=35))  # the pending request's first preferred day
            availability_services.absence_create(person=director, starts_at=local(day, 0),
                                                 ends_at=local(day + timedelta(days=1), 0), reason=DIRECTOR_AWAY)

    # --- accounts --------------------------------------------------------------------------------

    def load_users(self, people) -> None:
        if not settings.DEBUG:
            self.stdout.write(
                "DEBUG is off: demo users 'coordinator' and 'host' were not created "
                "(create real accounts with `manage.py createsuperuser`)."
            )
            return
        User = get_user_model()
        # Staff status is what makes a coordinator (admin, every visit); a host is a plain account
        # that sees the meetings it takes part in and its calendar feed.
        for username, person, coordinator in [("coordinator", people["coordinator"], True),
                                              ("host", people["host"], False)]:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username, email=person.email, password=DEMO_PASSWORD,
                    is_staff=coordinator, is_superuser=coordinator, first_name=person.name.split()[-2],
                    last_name=person.name.split()[-1],
                )
            if person.user_id is None and not Person.objects.filter(user=user).exists():
                person.user = user
                person.save(update_fields=["user", "updated_at"])
        self.stdout.write("Demo users: coordinator / demo (sees everything), host / demo (hosts the programme).")
