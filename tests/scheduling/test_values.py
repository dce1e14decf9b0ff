"""Typed proposal data: JSON round trips of the values, the typed model fields, and the part (``kind``) of an item.

A proposal's frame, each item's spec and participants are frozen values stored as JSON; an item's part
(welcome, topic, lunch, break, wrap-up) is a field that booking carries onto the programme slot, so a
German title changes nothing about what the item is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from hypothesis import given
from hypothesis import strategies as st

from events.models import Meeting
from scheduling import services as scheduling_services
from scheduling.models import Proposal, ProposalItem
from scheduling.values import Covered, Frame, ItemParticipant, ItemSpec, participants_from_json, participants_to_json
from visits import booking
from visits.models import ProgrammeKind, ProgrammeSlot

ids = st.integers(1, 2**40)
zones = st.sampled_from([UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns")])
# Wall-clock times that name one instant: in a DST fold or gap, Python compares an aware time with its
# fixed-offset copy as unequal even at the same instant (PEP 495), which says nothing about the JSON.
moments = st.builds(lambda d, z: d.replace(tzinfo=z), st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
                    zones).filter(lambda d: d.utcoffset() == d.replace(fold=1 - d.fold).utcoffset())
spans = st.builds(lambda a, minutes: (a, a + timedelta(minutes=minutes)), moments, st.integers(1, 24 * 60))
minutes_of_day = st.builds(time, st.integers(0, 23), st.integers(0, 59))
kinds = st.sampled_from(list(ProgrammeKind))

item_specs = st.builds(
    ItemSpec, duration_minutes=st.integers(5, 720), required=st.tuples(ids, ids) | st.just(()),
    optional=st.lists(ids, max_size=3).map(tuple), min_capacity=st.none() | st.integers(1, 500),
    needs_room=st.booleans(), windows=st.lists(spans, max_size=3).map(tuple), host=st.none() | ids,
    experts=st.lists(ids, max_size=4).map(tuple), dead_reason=st.text(max_size=40),
)
participants = st.lists(st.builds(ItemParticipant, person=ids, role=st.sampled_from(["host", "chair", "guest"])),
                        max_size=6).map(tuple)
covered = st.builds(Covered, covers=kinds, meeting=ids, title=st.text(max_size=60), starts_at=moments,
                    ends_at=st.none() | moments, day=st.dates(), topic=st.none() | ids, name=st.text(max_size=40))
frames = st.builds(
    Frame, timezone=st.sampled_from(["Europe/Berlin", "UTC", "Asia/Kolkata"]),
    days=st.lists(st.dates(date(2000, 1, 1), date(2100, 1, 1)), min_size=1, max_size=14).map(tuple),
    day_start=minutes_of_day, day_end=minutes_of_day, granularity_minutes=st.sampled_from([5, 15, 30, 60]),
    rooms=st.lists(ids, max_size=5).map(tuple), delegation=st.lists(ids, max_size=5).map(tuple),
    seats=st.integers(0, 500), coordinator=st.none() | ids,
    precedence=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=4).map(tuple),
    covered=st.lists(covered, max_size=4).map(tuple),
)


@given(item_specs)
def test_an_item_spec_survives_json(spec):
    assert ItemSpec.from_json(spec.to_json()) == spec


@given(participants)
def test_participants_survive_json(people):
    assert participants_from_json(participants_to_json(people)) == people


@given(covered)
def test_a_covered_entry_survives_json(entry):
    assert Covered.from_json(entry.to_json()) == entry


@given(frames)
def test_a_frame_survives_json(frame):
    assert Frame.from_json(frame.to_json()) == frame


def test_a_stored_item_spec_from_before_the_kind_field_reads_without_its_role():
    """Rows written before ``kind`` carried ``role`` inside the spec (the migration moves it out)."""
    spec = ItemSpec.from_json({"duration_minutes": 30, "required": [1, 2], "optional": [], "needs_room": True,
                               "windows": [["2027-03-02T09:00:00+01:00", "2027-03-02T12:00:00+01:00"]],
                               "role": "welcome", "min_capacity": 5})
    assert spec.required == (1, 2) and spec.min_capacity == 5 and spec.host is None and not spec.dead_reason
    assert spec.windows[0][1] - spec.windows[0][0] == timedelta(hours=3)


# --- the model fields ------------------------------------------------------------------------


@pytest.fixture
def proposal(centre) -> Proposal:
    return scheduling_services.proposal_create(visit=centre.visit, time_limit_seconds=2)


def test_the_fields_give_typed_values_after_loading_and_assignment(proposal):
    item = ProposalItem.objects.get(proposal=proposal, key="topic-cell-therapeutics")
    assert isinstance(item.spec, ItemSpec) and isinstance(Proposal.objects.get(pk=proposal.pk).settings, Frame)
    assert all(isinstance(p, ItemParticipant) for p in item.participants)
    assert item.kind == ProgrammeKind.TOPIC and item.spec.host == item.participants[0].person

    item.spec = {**item.spec.to_json(), "duration_minutes": 75}  # JSON assigned is read back typed
    item.participants = [{"person": item.participants[0].person, "role": "chair"}]
    assert item.spec.duration_minutes == 75 and item.participants[0].role == "chair"
    item.save(update_fields=["spec", "participants"])

    stored = ProposalItem.objects.values_list("spec", "participants").get(pk=item.pk)
    assert stored[0]["duration_minutes"] == 75 and stored[1] == [{"person": item.participants[0].person,
                                                                   "role": "chair"}]
    assert ProposalItem.objects.get(pk=item.pk).spec == item.spec


def test_every_item_has_its_part_and_the_api_says_it(centre, proposal):
    kinds = dict(proposal.items.values_list("key", "kind"))
    assert kinds["welcome"] == "welcome" and kinds["wrap-up"] == "wrap-up"
    assert {kinds[k] for k in kinds if k.startswith("topic-")} == {"topic"}
    assert {kinds[k] for k in kinds if k.startswith("lunch-")} == {"lunch"}
    body = centre.client().get(f"/api/v1/proposals/{proposal.pk}/").json()
    assert {i["key"]: i["kind"] for i in [*body["items"]]} == {k: v for k, v in kinds.items()
                                                              if k in {i["key"] for i in body["items"]}}
    cell = next(i for i in body["items"] if i["key"] == "topic-cell-therapeutics")
    assert {"person", "role"} == set(cell["participants"][0]) and cell["participants"][0]["role"] == "host"


def test_a_german_titled_item_keeps_its_part_when_booked_and_is_not_proposed_again(centre, proposal):
    ProposalItem.objects.filter(proposal=proposal, key="welcome").update(title="Begrüßung der Delegation")
    ProposalItem.objects.filter(proposal=proposal, key__startswith="lunch-").update(title="Mittagessen")

    scheduling_services.proposal_accept(proposal=proposal)

    slots = {s.meeting.title: s for s in ProgrammeSlot.objects.filter(visit=centre.visit).select_related("meeting")}
    assert slots["Begrüßung der Delegation"].kind == ProgrammeKind.WELCOME
    assert slots["Begrüßung der Delegation"].meeting.kind == Meeting.Kind.MEETING
    assert {s.kind for t, s in slots.items() if t == "Mittagessen"} == {ProgrammeKind.LUNCH}
    assert {s.meeting.kind for t, s in slots.items() if t == "Mittagessen"} == {Meeting.Kind.MEAL}
    assert slots["Wrap-up and next steps"].kind == ProgrammeKind.WRAP_UP
    assert slots["Cell therapeutics"].kind == ProgrammeKind.TOPIC

    again = scheduling_services.proposal_create(visit=centre.visit, time_limit_seconds=1)
    assert not again.items.exists()  # everything is booked, whatever the titles say
    assert {c.covers for c in again.settings.covered} == {"welcome", "topic", "lunch", "wrap-up"}


# --- the migrations --------------------------------------------------------------------------

BEFORE = [("visits", "0002_default_timezone_setting"), ("scheduling", "0002_i13_proposal_reasons_per_language")]


@pytest.mark.django_db(transaction=True)
def test_the_migrations_fill_the_parts_of_existing_items_and_slots(transactional_db, centre):
    proposal = scheduling_services.proposal_create(visit=centre.visit, time_limit_seconds=2)
    scheduling_services.proposal_accept(proposal=proposal)
    typed = {i.key: (i.kind, i.spec, i.participants) for i in ProposalItem.objects.filter(proposal=proposal)}
    booked = dict(ProposalItem.objects.filter(proposal=proposal).values_list("meeting_id", "kind"))
    german = booking.meeting_create(
        visit=centre.visit, title="Begrüßung durch die Direktorin", starts_at=centre.at(0, 7),
        ends_at=centre.at(0, 7, 30), room=centre.office)
    dinner = booking.meeting_create(
        visit=centre.visit, title="Conference dinner", starts_at=centre.at(0, 19), ends_at=centre.at(0, 21),
        room=centre.office, kind=Meeting.Kind.MEAL)

    if connection.vendor == "postgresql":
        # The change history's triggers (pghistory, installed by ``migrate``) are written for today's
        # tables; going back to older migrations drops columns and the history tables they write to.
        # ``migrate`` below installs them again.
        import pgtrigger

        pgtrigger.uninstall()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("scheduling", "ProposalItem")
        roles = dict(old.objects.values_list("key", "spec__role"))
        assert roles["welcome"] == "welcome" and dict(old.objects.values_list("key", "kind"))["welcome"] == "meeting"
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        call_command("migrate", verbosity=0)

    after = {i.key: (i.kind, i.spec, i.participants) for i in ProposalItem.objects.filter(proposal=proposal)}
    assert after == typed
    slots = dict(ProgrammeSlot.objects.filter(visit=centre.visit).values_list("meeting_id", "kind"))
    assert {m: slots[m] for m in booked} == booked  # booked items: their own part
    assert slots[german.pk] == ProgrammeKind.WELCOME  # the one-off title guess, German included
    assert slots[dinner.pk] == ""
