"""Who changed what and when: one event table per tracked model, filled by PostgreSQL triggers.

django-pghistory writes a row into these tables from a trigger on every insert, update and delete of
the tracked rows — whatever wrote them (a service, the admin, a bulk ``update()``, a migration, raw
SQL) — and links it to the *context* of the change (``pghistory.Context``: who, through which
request or task; see ``history.context``). The event models live in this app rather than next to
the models they track so that the domain apps stay unaware of their history and all history
migrations sit in one place.

Tracked: visits and their programme links, meetings, participations, agenda items, absences and
working hours (weekly hours and dated exceptions). Left out are columns that only mirror another
(a participation's copy of its meeting's times, ``blocks_time``) or change on every save
(``updated_at``): they would add an event to every edit without telling anyone anything.

On SQLite (the embedded development set-up) the tables exist but stay empty: the triggers are
PostgreSQL's (pgtrigger installs them on PostgreSQL only); see docs/operations.md, "Change history".
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.db import models

from availability.models import Absence, HoursException, WeeklyHours
from events.models import AgendaItem, Meeting, Participation
from visits.models import ProgrammeSlot, Visit


def _event_model(tracked: type[models.Model], name: str, *, exclude: list[str] | None = None) -> Any:
    # Every tracked row: created, changed (only when a stored column changes) and deleted. New trackers
    # per model: pghistory narrows an update tracker's condition to the model's columns in place.
    return pghistory.create_event_model(
        tracked,
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(),
        exclude=exclude,
        obj_field=pghistory.ObjForeignKey(related_name="+", related_query_name="+"),
        model_name=name,
        app_label="history",
        abstract=False,
        meta={"ordering": ["pgh_id"]},
    )


VisitEvent = _event_model(Visit, "VisitEvent", exclude=["updated_at"])
ProgrammeSlotEvent = _event_model(ProgrammeSlot, "ProgrammeSlotEvent")
MeetingEvent = _event_model(Meeting, "MeetingEvent", exclude=["updated_at"])
ParticipationEvent = _event_model(Participation, "ParticipationEvent",
                                  exclude=["starts_at", "ends_at", "blocks_time"])
AgendaItemEvent = _event_model(AgendaItem, "AgendaItemEvent")
AbsenceEvent = _event_model(Absence, "AbsenceEvent")
WeeklyHoursEvent = _event_model(WeeklyHours, "WeeklyHoursEvent")
HoursExceptionEvent = _event_model(HoursException, "HoursExceptionEvent")
