"""Reading the change history: entries with what each change did, field by field (before → after).

An entry is one event row: a row was created, changed or deleted. For a change the fields that
differ from the row's previous event are listed with both values; for a creation every filled field
with its new value, for a deletion every filled field with its last value. Values are as stored
(ids for references, ISO 8601 for times); ``label`` names the row as it was then (the participant
for a participation, the title for a meeting or an agenda item).

A meeting's history is the meeting's own events plus those of its participations, agenda items and
programme link; a visit's is the visit's own plus the histories of every meeting that was ever in
its programme. Newest first, at most ``limit`` entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from directory.models import Person
from events.models import Meeting
from visits.models import Visit

from . import models as event_models
from .context import recording

#: What a history answer holds at most (newest first).
DEFAULT_LIMIT = 500

ACTIONS = {"insert": "created", "update": "changed", "delete": "deleted"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    action: str  # created / changed / deleted
    model: str  # "meeting", "participation", …
    object_id: int
    label: str
    changes: dict[str, list[Any]]
    user_id: int | None = None
    username: str = ""
    via: str = ""  # api / admin / web / worker; "" when made outside a request or task
    url: str = ""
    request_id: str = ""
    task: str = ""
    #: For sorting events of one transaction (they share ``at``): the event table's own order.
    order: tuple[int, int] = field(default=(0, 0), compare=False)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _values(event: models.Model, names: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {name: _plain(getattr(event, attname)) for name, attname in names}


def _tracked_fields(event_model: type[models.Model]) -> list[tuple[str, str]]:
    """(name, attname) of the tracked columns an event row copies (not pghistory's own ``pgh_*``)."""
    return [(f.name, f.attname) for f in event_model._meta.concrete_fields if not f.name.startswith("pgh_")]


def _label(model: str, values: dict[str, Any], people: dict[int, str]) -> str:
    if model == "participation":
        return f"{people.get(values.get('person') or 0, '#' + str(values.get('person')))} ({values.get('role')})"
    if model == "programme slot":
        return f"meeting #{values.get('meeting')} in visit #{values.get('visit')}"
    for key in ("title", "reference", "reason"):
        if values.get(key):
            return str(values[key])
    return f"#{values.get('id')}"


def _entries(event_model: type[models.Model], model: str, rank: int, events: Iterable[Any],
             people: dict[int, str]) -> list[Entry]:
    names = _tracked_fields(event_model)
    previous: dict[int, dict[str, Any]] = {}
    #: Per object: its last entry and that entry's context, so that several saves of one row by one
    #: request or task (a service that saves twice) read as one change.
    last: dict[int, tuple[int, Any]] = {}
    out: list[Entry] = []
    for event in events:
        values = _values(event, names)
        before = previous.get(event.pgh_obj_id)
        previous[event.pgh_obj_id] = values
        if event.pgh_label == "update" and before is not None:
            changes = {k: [before.get(k), v] for k, v in values.items() if before.get(k) != v}
            index, context_id = last.get(event.pgh_obj_id, (-1, None))
            if context_id is not None and context_id == event.pgh_context_id and out[index].action != "deleted":
                out[index] = _merged(out[index], changes, _label(model, values, people))
                continue
        elif event.pgh_label == "delete":
            changes = {k: [v, None] for k, v in values.items() if v not in (None, "")}
        else:
            changes = {k: [None, v] for k, v in values.items() if v not in (None, "")}
        last[event.pgh_obj_id] = (len(out), event.pgh_context_id)
        ctx = event.pgh_context.metadata if event.pgh_context_id else {}
        out.append(Entry(
            at=event.pgh_created_at, action=ACTIONS.get(event.pgh_label, event.pgh_label), model=model,
            object_id=event.pgh_obj_id, label=_label(model, values, people), changes=changes,
            user_id=ctx.get("user"), via=ctx.get("via") or "", url=ctx.get("url") or "",
            request_id=ctx.get("request_id") or "", task=ctx.get("task") or "", order=(rank, event.pgh_id),
        ))
    return out


def _merged(entry: Entry, changes: dict[str, list[Any]], label: str) -> Entry:
    """``entry`` followed by ``changes`` of the same row in the same request or task, as one entry."""
    combined = {k: list(v) for k, v in entry.changes.items()}
    for key, (before, after) in changes.items():
        combined[key] = [combined[key][0], after] if key in combined else [before, after]
    if entry.action != "created":
        combined = {k: v for k, v in combined.items() if v[0] != v[1]}
    return replace(entry, changes=combined, label=label)


def _with_users(entries: list[Entry]) -> list[Entry]:
    ids = {e.user_id for e in entries if e.user_id is not None}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    return [replace(e, username=str(names.get(e.user_id, ""))) if e.user_id is not None else e for e in entries]


def _meetings_history(meeting_ids: list[int]) -> list[Entry]:
    sources: list[tuple[type[models.Model], str, Any]] = [
        (event_models.MeetingEvent, "meeting", {"pgh_obj_id__in": meeting_ids}),
        (event_models.ParticipationEvent, "participation", {"meeting_id__in": meeting_ids}),
        (event_models.AgendaItemEvent, "agenda item", {"meeting_id__in": meeting_ids}),
        (event_models.ProgrammeSlotEvent, "programme slot", {"meeting_id__in": meeting_ids}),
    ]
    fetched: list[tuple[type[models.Model], str, list[Any]]] = [
        (m, name, list(m._default_manager.filter(**where).select_related("pgh_context").order_by("pgh_id")))
        for m, name, where in sources
    ]
    person_ids = {e.person_id for m, name, events in fetched if name == "participation" for e in events}
    people = dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "name")) if person_ids else {}
    entries: list[Entry] = []
    for rank, (model_cls, name, events) in enumerate(fetched):
        entries.extend(_entries(model_cls, name, rank, events, people))
    return entries


def _newest_first(entries: list[Entry], limit: int) -> list[Entry]:
    entries.sort(key=lambda e: (e.at, e.order), reverse=True)
    return _with_users(entries[:limit])


def meeting_history(meeting: Meeting, *, limit: int = DEFAULT_LIMIT) -> list[Entry]:
    if not recording():
        return []
    return _newest_first(_meetings_history([meeting.pk]), limit)


def visit_history(visit: Visit, *, limit: int = DEFAULT_LIMIT) -> list[Entry]:
    if not recording():
        return []
    meeting_ids = sorted(set(event_models.ProgrammeSlotEvent.objects.filter(visit_id=visit.pk)
                             .values_list("meeting_id", flat=True)))
    visit_events = list(event_models.VisitEvent.objects.filter(pgh_obj_id=visit.pk)
                        .select_related("pgh_context").order_by("pgh_id"))
    entries = _entries(event_models.VisitEvent, "visit", 9, visit_events, {}) + _meetings_history(meeting_ids)
    return _newest_first(entries, limit)


def object_history(obj: models.Model, *, limit: int = DEFAULT_LIMIT) -> list[Entry]:
    """The history of any tracked row (the admin's history pages): its own events, and for a meeting or
    a visit everything ``meeting_history`` / ``visit_history`` include."""
    if not recording():
        return []
    if isinstance(obj, Meeting):
        return meeting_history(obj, limit=limit)
    if isinstance(obj, Visit):
        return visit_history(obj, limit=limit)
    if isinstance(obj, Person):  # the admin's "working hours" page of a person (PersonAvailability)
        return working_hours_history(obj, limit=limit)
    event_model = TRACKED.get(type(obj))
    if event_model is None:
        return []
    events = event_model._default_manager.filter(pgh_obj_id=obj.pk).select_related("pgh_context").order_by("pgh_id")
    return _newest_first(_entries(event_model, str(obj._meta.verbose_name), 0, events, {}), limit)


def working_hours_history(person: Person, *, limit: int = DEFAULT_LIMIT) -> list[Entry]:
    """A person's weekly hours, dated exceptions and absences."""
    if not recording():
        return []
    entries: list[Entry] = []
    for rank, (event_model, name) in enumerate([(event_models.WeeklyHoursEvent, "weekly hours"),
                                                (event_models.HoursExceptionEvent, "hours exception"),
                                                (event_models.AbsenceEvent, "absence")]):
        events = event_model._default_manager.filter(person_id=person.pk).select_related("pgh_context").order_by("pgh_id")
        entries.extend(_entries(event_model, name, rank, events, {}))
    return _newest_first(entries, limit)


#: Tracked model → its event model.
TRACKED: dict[type[models.Model], type[models.Model]] = {
    m.pgh_tracked_model: m for m in (
        event_models.VisitEvent, event_models.ProgrammeSlotEvent, event_models.MeetingEvent,
        event_models.ParticipationEvent, event_models.AgendaItemEvent, event_models.AbsenceEvent,
        event_models.WeeklyHoursEvent, event_models.HoursExceptionEvent,
    )
}
