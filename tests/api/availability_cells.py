"""Authorization-matrix cells for the availability endpoints (issue 12), joined into the matrix.

Roles in order: coordinator, host, other_host, anonymous, requester. A host may ask about themselves
and rooms; ``other_host`` asking about ``host_person`` is refused (403 for the search, 404 where the
person is out of their sight).
"""

from __future__ import annotations

WINDOW = "start=2026-12-01T00:00:00Z&end=2026-12-08T00:00:00Z"

CELLS = [
    ("availability-search", "get", "/api/v1/availability/?people={w.host_person.pk}&" + WINDOW + "&duration=30",
     None, (200, 200, 403, 401, 401)),
    ("availability-search-room", "get", "/api/v1/availability/?rooms={w.spare_room.pk}&" + WINDOW + "&duration=30",
     None, (200, 200, 200, 401, 401)),
    ("availability-busy", "get", "/api/v1/availability/busy/?people={w.host_person.pk}&" + WINDOW, None,
     (200, 200, 403, 401, 401)),
    ("working-hours-read", "get", "/api/v1/people/{w.host_person.pk}/working-hours/", None,
     (200, 200, 404, 401, 401)),
    ("working-hours-put", "put", "/api/v1/people/{w.host_person.pk}/working-hours/",
     lambda w: {"weekly": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}, (200, 200, 404, 401, 401)),
    ("absences-list", "get", "/api/v1/absences/", None, (200, 200, 200, 401, 401)),
    ("absence-create", "post", "/api/v1/absences/",
     lambda w: {"person": w.host_person.pk, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z",
                "reason": "Holiday"}, (201, 201, 403, 401, 401)),
    ("room-closures-list", "get", "/api/v1/room-closures/", None, (200, 200, 200, 401, 401)),
    ("room-closure-create", "post", "/api/v1/room-closures/",
     lambda w: {"room": w.room.pk, "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-02T00:00:00Z"},
     (201, 403, 403, 401, 401)),
    ("external-calendars-list", "get", "/api/v1/external-calendars/", None, (200, 200, 200, 401, 401)),
    ("external-calendar-create", "post", "/api/v1/external-calendars/",
     lambda w: {"person": w.host_person.pk, "url": "https://calendar.example.org/secret.ics"},
     (201, 201, 403, 401, 401)),
]
