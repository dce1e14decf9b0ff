"""Property: over generated visits, every proposed programme keeps every rule the instance allows, and
what it cannot keep is reported — an item left out says which rule blocked it.

Visits of 1–3 days (some on Berlin public holidays), 1–8 topics with 1–2 experts each, random absences
of experts, random sets of rooms (with or without a dining room). Which rules a generated visit allows
is known by construction: every rule of ``visits.rules`` can be kept by leaving items out, so a rule
may only be broken where an item it needs (the welcome, the wrap-up, a lunch) is unplaced with a
reason; with every day a holiday nothing is placed and each item says "holiday". Few examples, so it
runs in seconds; the benchmark (bench/scheduling.py) measures the share over many more.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from availability.holidays import holidays_between
from availability.models import Absence
from directory.models import Organisation, Person, Topic
from events.models import Room, Venue
from scheduling import services
from scheduling.check import proposal_check
from scheduling.programme import visit_days
from visits import rules
from visits.models import Delegation, ProgrammeKind, Visit

pytestmark = pytest.mark.django_db(transaction=False)

#: Starts of a visit: Women's Day (Mon 8 Mar 2027, a Berlin holiday), Ascension (Thu 6 May 2027) and
#: ordinary weeks.
STARTS = [date(2027, 3, 8), date(2027, 5, 6), date(2027, 6, 7), date(2027, 9, 14)]
SOLVER_RULES = {"capacity", "room-busy", "day-bounds", "programme-full", "expertise", "time-limit", "order",
                "windows"}


@st.composite
def instances(draw):
    start = draw(st.sampled_from(STARTS))
    days = draw(st.integers(1, 3))
    topics = draw(st.lists(st.sampled_from([60, 90]), min_size=1, max_size=8))
    experts = [draw(st.lists(st.integers(0, 5), min_size=1, max_size=2, unique=True)) for _ in topics]
    absent = draw(st.lists(st.tuples(st.integers(0, 5), st.integers(0, days - 1)), max_size=3))
    rooms = draw(st.lists(st.sampled_from([3, 8, 14, 60]), min_size=1, max_size=4, unique=True))
    dining = draw(st.booleans())
    size = draw(st.integers(2, 5))
    return start, days, topics, experts, absent, rooms, dining, size


def build(start, days, topics, experts, absent, rooms, dining, size) -> Visit:
    org = Organisation.objects.create(name="Centre", country="DE")
    venue = Venue.objects.create(name="Campus", country="DE", subdivision="BE", timezone="Europe/Berlin")
    for n, capacity in enumerate(rooms):
        Room.objects.create(venue=venue, name=f"Room {n}", capacity=capacity)
    if dining:
        Room.objects.create(venue=venue, name="Cafeteria", capacity=120, dining=True)
    staff = [Person.objects.create(name=f"Dr. Expert {n}", email=f"e{n}@centre.example.org", organisation=org)
             for n in range(6)]
    coordinator = Person.objects.create(name="Coordinator", email="c@centre.example.org", organisation=org)
    guests = Organisation.objects.create(name="Guests", country="SE")
    members = [Person.objects.create(name=f"Guest {n}", email=f"g{n}@guests.example.org", organisation=guests)
               for n in range(size)]
    delegation = Delegation.objects.create(name="Guests", organisation=guests, size=size, lead=members[0])
    delegation.members.set(members[1:])
    visit = Visit.objects.create(reference=f"VIS-T-{start:%m%d}", delegation=delegation, contact=members[0],
                                 venue=venue, coordinator=coordinator, timezone="Europe/Berlin",
                                 starts_on=start, ends_on=start + timedelta(days=days - 1))
    for n, (minutes, who) in enumerate(zip(topics, experts, strict=True)):
        topic = Topic.objects.create(name=f"Topic {n}", slug=f"topic-{n}", meeting_minutes=minutes)
        visit.topics.add(topic)
        for e in who:
            staff[e].expertise.add(topic)
    for e, day in absent:
        a = datetime.combine(start + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
        Absence.objects.create(person=staff[e], starts_at=a, ends_at=a + timedelta(days=1))
    return visit


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(instances())
def test_every_proposal_keeps_every_rule_the_visit_allows(db, instance):
    with transaction.atomic():
        visit = build(*instance)
        proposal = services.proposal_create(visit=visit, time_limit_seconds=1)
        items = list(proposal.items.all())
        broken = {r.rule: r for r in proposal_check(proposal) if not r.kept}
        unplaced = [i for i in items if not i.placed and not i.removed]
        # Every item left out says which rule kept it out.
        assert all(i.blocked_by for i in unplaced), [(i.key, i.reason) for i in unplaced]
        assert {i.blocked_by for i in unplaced} <= set(rules.RULE_IDS) | SOLVER_RULES
        days = visit_days(visit)
        holidays = holidays_between(country="DE", subdivision="BE", start=days[0], end=days[-1])
        if all(d in holidays for d in days):
            assert not [i for i in items if i.placed]
            assert {i.blocked_by for i in unplaced} <= {"holiday", "expertise"}
        missing = {i.kind for i in unplaced}
        allowed = set()
        if ProgrammeKind.WELCOME in missing:
            allowed.add(rules.WELCOME_FIRST)
        if ProgrammeKind.WRAP_UP in missing:
            allowed.add(rules.WRAP_UP_LAST)
        if ProgrammeKind.LUNCH in missing:
            allowed.add(rules.LUNCH)
        assert set(broken) <= allowed, {r: [v.message for v in broken[r].violations] for r in broken}
        transaction.set_rollback(True)
