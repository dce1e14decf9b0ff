"""The visit state machine, generated from ``visits.services.ALLOWED`` so the table and tests never drift."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction

from events.models import Meeting
from tests.domain.conftest import berlin
from tests.factories import PersonFactory, RoomFactory, VisitFactory
from visits import booking, services
from visits.errors import InvalidTransition
from visits.models import Visit

S = Visit.Status
FAR_FUTURE = date(2999, 1, 1)

#: How each target status is reached; ``completed`` is asked for "after the visit ended".
TRANSITIONS = {
    S.CONFIRMED: lambda visit: services.visit_confirm(visit=visit),
    S.DECLINED: lambda visit: services.visit_decline(visit=visit, reason="No capacity"),
    S.CANCELLED: lambda visit: services.visit_cancel(visit=visit, reason="Travel cancelled"),
    S.COMPLETED: lambda visit: services.visit_complete(visit=visit, today=FAR_FUTURE),
}


def visit_in(status: str, submit) -> Visit:
    """A visit brought to ``status`` through the services only."""
    visit = submit()
    if status == S.REQUESTED:
        return visit
    if status in (S.DECLINED, S.CANCELLED):
        return TRANSITIONS[status](visit)
    visit = services.visit_confirm(visit=visit)
    if status == S.CONFIRMED:
        return visit
    return services.visit_complete(visit=visit, today=visit.ends_on + timedelta(days=1))


def test_every_status_has_a_row_and_every_target_a_service():
    assert set(services.ALLOWED) == set(S.values)
    targets = set().union(*services.ALLOWED.values())
    assert targets <= set(TRANSITIONS)
    # Nothing leads back to "requested": a request is only ever made by submitting it.
    assert S.REQUESTED not in targets


ALL_PAIRS = list(itertools.product(S.values, TRANSITIONS))
ALLOWED_PAIRS = [(src, dst) for src, dst in ALL_PAIRS if dst in services.ALLOWED[src]]
REFUSED_PAIRS = [(src, dst) for src, dst in ALL_PAIRS if dst not in services.ALLOWED[src]]


@pytest.mark.parametrize(("source", "target"), ALLOWED_PAIRS, ids=[f"{s}->{t}" for s, t in ALLOWED_PAIRS])
def test_allowed_transition_happens(source, target, submit_request):
    visit = visit_in(source, submit_request)
    assert visit.status == source

    result = TRANSITIONS[target](visit)

    assert result.status == target
    visit.refresh_from_db()
    assert visit.status == target
    if target == S.CONFIRMED:
        assert visit.confirmed_at is not None and visit.starts_on is not None
    else:
        assert visit.closed_at is not None


@pytest.mark.parametrize(("source", "target"), REFUSED_PAIRS, ids=[f"{s}->{t}" for s, t in REFUSED_PAIRS])
def test_refused_transition_raises_and_changes_nothing(source, target, submit_request):
    visit = visit_in(source, submit_request)
    before = Visit.objects.values().get(pk=visit.pk)

    with pytest.raises(InvalidTransition) as excinfo:
        TRANSITIONS[target](visit)

    assert excinfo.value.status == 409
    assert excinfo.value.detail == {"status": source, "target": target}
    assert visit.reference in excinfo.value.message
    assert Visit.objects.values().get(pk=visit.pk) == before


def test_the_refused_set_is_not_empty_and_matches_the_table():
    # 5 statuses x 4 reachable targets; ALLOWED has 5 arrows.
    assert len(ALLOWED_PAIRS) == 5
    assert len(REFUSED_PAIRS) == 15


def test_confirmed_visit_cannot_complete_before_its_last_day(submit_request):
    visit = services.visit_confirm(visit=submit_request())

    with pytest.raises(InvalidTransition, match="has not ended"):
        services.visit_complete(visit=visit, today=visit.ends_on)

    visit.refresh_from_db()
    assert visit.status == S.CONFIRMED


def test_confirm_defaults_to_first_preferred_window_and_records_coordinator(submit_request):
    coordinator = PersonFactory()
    visit = submit_request()
    window = visit.preferred_windows.first()

    visit = services.visit_confirm(visit=visit, by=coordinator)

    assert (visit.starts_on, visit.ends_on) == (window.start, window.end)
    assert visit.coordinator == coordinator


@pytest.mark.parametrize("close", [S.CANCELLED, S.DECLINED])
def test_closing_a_visit_cancels_its_scheduled_programme(close, submit_request):
    visit = submit_request()
    if close == S.CANCELLED:
        visit = services.visit_confirm(visit=visit)
    room = RoomFactory()
    day = visit.preferred_windows.first().start
    first = booking.meeting_create(
        visit=visit, title="Welcome", starts_at=berlin(day.year, day.month, day.day, 9),
        ends_at=berlin(day.year, day.month, day.day, 10), room=room,
    )

    TRANSITIONS[close](visit)

    first.refresh_from_db()
    assert first.status == Meeting.Status.CANCELLED
    assert first.sequence == 1
    with pytest.raises(InvalidTransition):
        booking.meeting_create(
            visit=visit, title="Too late", starts_at=berlin(day.year, day.month, day.day, 11),
            ends_at=berlin(day.year, day.month, day.day, 12),
        )


def test_visits_complete_past_only_touches_ended_confirmed_visits(submit_request):
    ended = services.visit_confirm(visit=submit_request())
    running = services.visit_confirm(visit=submit_request())
    requested = submit_request()
    Visit.objects.filter(pk=running.pk).update(ends_on=FAR_FUTURE)

    done = services.visits_complete_past(today=ended.ends_on + timedelta(days=1))

    assert done == 1
    assert {v.pk: v.status for v in Visit.objects.all()} == {
        ended.pk: S.COMPLETED, running.pk: S.CONFIRMED, requested.pk: S.REQUESTED,
    }


# --- references --------------------------------------------------------------------------------


def test_references_are_sequential_within_a_year(submit_request):
    with time_machine.travel("2030-03-01 12:00 +01:00", tick=False):
        refs = [submit_request().reference for _ in range(3)]
    assert refs == ["VIS-2030-0001", "VIS-2030-0002", "VIS-2030-0003"]


def test_reference_counter_restarts_each_year(submit_request):
    with time_machine.travel("2030-12-31 12:00 +01:00", tick=False):
        assert submit_request().reference == "VIS-2030-0001"
        assert submit_request().reference == "VIS-2030-0002"
    with time_machine.travel("2031-01-02 12:00 +01:00", tick=False):
        assert submit_request().reference == "VIS-2031-0001"


def test_reference_is_unique_in_the_database(db):
    VisitFactory(reference="VIS-2030-0007")
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitFactory(reference="VIS-2030-0007")
