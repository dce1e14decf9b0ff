"""Authorization matrix cells for the scheduling endpoints (coordinators only; others 403, anonymous 401).

Proposal ids that do not exist answer 404 to coordinators; other roles are refused before any lookup,
so nothing about a proposal's existence leaks.
"""

from __future__ import annotations

from tests.api.conftest import next_week


def _solve(w):
    return {"timezone": "Europe/Berlin", "days": [next_week(9).date().isoformat()], "day_start": "09:00",
            "day_end": "12:00", "rooms": [w.room.pk], "time_limit_seconds": 2,
            "meetings": [{"key": "a", "title": "One-to-one", "duration_minutes": 60, "required": [w.other_person.pk]}]}


def _book(w):
    return {"timezone": "Europe/Berlin", "meetings": [
        {"key": "a", "title": "Booked", "starts_at": next_week(18).isoformat(), "ends_at": next_week(19).isoformat(),
         "room": w.spare_room.pk, "required": [w.other_person.pk]}]}


def _propose(w):
    w.visit.topics.add(w.topic)  # a visit without topics is asked for them first (400), not proposed for
    return {"time_limit_seconds": 2}


COORDINATORS_ONLY_WRITE = (200, 403, 403, 401, 401)
MISSING = (404, 403, 403, 401, 401)
CELLS = [
    ("scheduling-solve", "post", "/api/v1/scheduling/solve/", _solve, COORDINATORS_ONLY_WRITE),
    ("scheduling-book", "post", "/api/v1/scheduling/book/", _book, (201, 403, 403, 401, 401)),
    ("visit-proposals-create", "post", "/api/v1/visits/{w.visit.pk}/proposals/", _propose, (201, 403, 403, 401, 401)),
    ("visit-proposals-list", "get", "/api/v1/visits/{w.visit.pk}/proposals/", None, COORDINATORS_ONLY_WRITE),
    ("proposal-detail", "get", "/api/v1/proposals/999999/", None, MISSING),
    ("proposal-accept", "post", "/api/v1/proposals/999999/accept/", lambda w: {}, MISSING),
    ("proposal-resolve", "post", "/api/v1/proposals/999999/resolve/", lambda w: {}, MISSING),
    ("proposal-repair", "post", "/api/v1/proposals/999999/repair/", lambda w: {}, MISSING),
    ("proposal-discard", "post", "/api/v1/proposals/999999/discard/", lambda w: {}, MISSING),
    ("proposal-item", "patch", "/api/v1/proposals/999999/items/1/", lambda w: {"pinned": True}, MISSING),
]
