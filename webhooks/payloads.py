"""The ``data`` of each event type, version 1, built from rows as they are when the event is observed.

Payloads carry what a receiver needs to act without calling back (times with offsets, the room, who
takes part and how they answered) and nothing a coordinator's integration should not hold: no e-mail
addresses, tokens or free-text notes. A breaking change to a shape is a new ``VERSION``; fields may
be added within a version. The shapes are named in the OpenAPI schema (``api/webhooks.py``).
"""

from __future__ import annotations

from typing import Any

from events.models import Meeting, Participation
from visits.models import Visit

VERSION = 1


def meeting_data(meeting: Meeting) -> dict[str, Any]:
    """A meeting as every ``meeting.*`` event carries it (participations prefetched by the caller)."""
    slot = getattr(meeting, "programme_slot", None)
    return {
        "id": meeting.pk,
        "uid": meeting.uid,
        "sequence": meeting.sequence,
        "status": meeting.status,
        "title": meeting.title,
        "kind": meeting.kind,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "timezone": meeting.timezone,
        "room": {"id": meeting.room.pk, "name": meeting.room.name} if meeting.room else None,
        "location": meeting.location,
        "online_url": meeting.online_url,
        "visit": slot.visit_id if slot is not None else None,
        "participants": [participant_data(p) for p in meeting.participations.all()],
    }


def participant_data(participation: Participation) -> dict[str, Any]:
    return {"person": participation.person_id, "name": participation.person.name, "role": participation.role,
            "rsvp": participation.rsvp}


def meeting_brief(meeting: Meeting) -> dict[str, Any]:
    return {"id": meeting.pk, "uid": meeting.uid, "sequence": meeting.sequence, "status": meeting.status,
            "title": meeting.title, "starts_at": meeting.starts_at.isoformat(), "ends_at": meeting.ends_at.isoformat(),
            "room": meeting.room.name if meeting.room else meeting.location}


def visit_data(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "reference": visit.reference,
        "status": visit.status,
        "organisation": visit.delegation.organisation.name,
        "delegation": visit.delegation.name,
        "delegation_size": visit.delegation.size,
        "starts_on": visit.starts_on.isoformat() if visit.starts_on else None,
        "ends_on": visit.ends_on.isoformat() if visit.ends_on else None,
        "timezone": visit.timezone,
        "requested_at": visit.requested_at.isoformat(),
        "confirmed_at": visit.confirmed_at.isoformat() if visit.confirmed_at else None,
    }


def programme_data(visit: Visit, meetings: list[Meeting]) -> dict[str, Any]:
    return {"visit": visit_data(visit), "meetings": [meeting_brief(m) for m in meetings]}


def answer_data(meeting: Meeting, participation: Participation) -> dict[str, Any]:
    return {
        "meeting": meeting_brief(meeting),
        "person": participation.person_id,
        "name": participation.person.name,
        "role": participation.role,
        "answer": participation.rsvp,
        "responded_at": participation.responded_at.isoformat() if participation.responded_at else None,
    }


def test_data(endpoint_id: int) -> dict[str, Any]:
    return {"endpoint": endpoint_id, "message": "A test event sent on request from Visitdesk."}
