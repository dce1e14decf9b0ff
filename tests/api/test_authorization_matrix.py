"""Role × endpoint authorization matrix, generated: one test per cell, the expected status per role.

Roles: coordinator, host (chair of ``world.meeting`` in ``world.visit``), other_host (sees only
``world.other_meeting``), anonymous, requester (holds ``world.visit``'s status token, no account).
Objects outside a caller's scope answer 404, not 403; writes a role may not make on objects it can
see answer 403; anonymous callers on non-public endpoints answer 401.
"""

from __future__ import annotations

import pytest

from tests.api.availability_cells import CELLS as AVAILABILITY_CELLS
from tests.api.conftest import next_week, visit_request_body
from tests.api.scheduling_cells import CELLS as SCHEDULING_CELLS
from tests.api.webhook_cells import CELLS as WEBHOOK_CELLS

ROLES = ("coordinator", "host", "other_host", "anonymous", "requester")

# (name, method, path template, body factory or None, expected statuses in ROLES order)
# Path templates are formatted with the World; ``{token}`` is the right status token for the requester
# and an unguessable wrong one for everybody else.
CELLS = [
    ("organisations-list", "get", "/api/v1/organisations/", None, (200, 200, 200, 401, 401)),
    ("organisation-own", "get", "/api/v1/organisations/{w.visit.delegation.organisation_id}/", None,
     (200, 200, 404, 401, 401)),
    ("organisation-other", "get", "/api/v1/organisations/{w.other_visit.delegation.organisation_id}/", None,
     (200, 404, 200, 401, 401)),
    ("organisation-create", "post", "/api/v1/organisations/", lambda w: {"name": "New Org", "country": "fr"},
     (201, 403, 403, 401, 401)),
    ("organisation-update", "patch", "/api/v1/organisations/{w.visit.delegation.organisation_id}/",
     lambda w: {"city": "Kiel"}, (200, 403, 404, 401, 401)),
    ("people-list", "get", "/api/v1/people/", None, (200, 200, 200, 401, 401)),
    ("person-contact", "get", "/api/v1/people/{w.visit.contact_id}/", None, (200, 200, 404, 401, 401)),
    ("person-create", "post", "/api/v1/people/", lambda w: {"name": "Neu", "email": "neu@example.org"},
     (201, 403, 403, 401, 401)),
    ("person-delete", "delete", "/api/v1/people/{w.other_person.pk}/", None, (409, 404, 403, 401, 401)),
    ("person-review", "post", "/api/v1/people/{w.visit.contact_id}/review/", lambda w: {},
     (200, 403, 403, 401, 401)),
    ("person-merge", "post", "/api/v1/people/{w.visit.contact_id}/merge/", lambda w: {"into": w.other_person.pk},
     (400, 403, 403, 401, 401)),
    ("topics-list", "get", "/api/v1/topics/", None, (200, 200, 200, 200, 200)),
    ("topic-create", "post", "/api/v1/topics/", lambda w: {"name": "Eureka", "slug": "eureka"},
     (201, 403, 403, 401, 401)),
    ("venues-list", "get", "/api/v1/venues/", None, (200, 200, 200, 401, 401)),
    ("venue-own", "get", "/api/v1/venues/{w.room.venue_id}/", None, (200, 200, 404, 401, 401)),
    ("rooms-list", "get", "/api/v1/rooms/", None, (200, 200, 200, 401, 401)),
    ("room-own", "get", "/api/v1/rooms/{w.room.pk}/", None, (200, 200, 404, 401, 401)),
    ("room-spare", "get", "/api/v1/rooms/{w.spare_room.pk}/", None, (200, 404, 404, 401, 401)),
    ("room-delete-used", "delete", "/api/v1/rooms/{w.room.pk}/", None, (409, 403, 404, 401, 401)),
    ("room-delete-spare", "delete", "/api/v1/rooms/{w.spare_room.pk}/", None, (204, 404, 404, 401, 401)),
    ("delegations-list", "get", "/api/v1/delegations/", None, (200, 200, 200, 401, 401)),
    ("delegation-own", "get", "/api/v1/delegations/{w.visit.delegation_id}/", None, (200, 200, 404, 401, 401)),
    ("visits-list", "get", "/api/v1/visits/", None, (200, 200, 200, 401, 401)),
    # What calendar clients answered (the organiser mailbox): for coordinators to decide, nobody else.
    ("counter-proposals-list", "get", "/api/v1/counter-proposals/", None, (200, 403, 403, 401, 401)),
    ("held-answers-list", "get", "/api/v1/held-answers/", None, (200, 403, 403, 401, 401)),
    ("visit-own", "get", "/api/v1/visits/{w.visit.pk}/", None, (200, 200, 404, 401, 401)),
    ("visit-other", "get", "/api/v1/visits/{w.other_visit.pk}/", None, (200, 404, 200, 401, 401)),
    ("visit-confirm", "post", "/api/v1/visits/{w.visit.pk}/confirm/", lambda w: {}, (200, 403, 404, 401, 401)),
    ("visit-decline", "post", "/api/v1/visits/{w.visit.pk}/decline/", lambda w: {"reason": "Full"},
     (200, 403, 404, 401, 401)),
    ("visit-cancel", "post", "/api/v1/visits/{w.visit.pk}/cancel/", lambda w: {}, (200, 403, 404, 401, 401)),
    ("visit-complete", "post", "/api/v1/visits/{w.visit.pk}/complete/", lambda w: {}, (409, 403, 404, 401, 401)),
    ("visit-rotate-links", "post", "/api/v1/visits/{w.visit.pk}/rotate-links/", lambda w: {"links": ["feed"]},
     (200, 403, 404, 401, 401)),
    ("visit-programme-pdf", "get", "/api/v1/visits/{w.visit.pk}/programme.pdf", None, (200, 200, 404, 401, 401)),
    ("visit-programme-html", "get", "/api/v1/visits/{w.visit.pk}/programme.html?lang=de", None,
     (200, 200, 404, 401, 401)),
    ("visit-programme-other", "get", "/api/v1/visits/{w.other_visit.pk}/programme.pdf", None,
     (200, 404, 200, 401, 401)),
    # ``world.visit`` is still requested: only a confirmed visit's programme is sent.
    ("visit-send-programme", "post", "/api/v1/visits/{w.visit.pk}/send-programme/", lambda w: {},
     (409, 403, 404, 401, 401)),
    ("meetings-list", "get", "/api/v1/meetings/", None, (200, 200, 200, 401, 401)),
    ("meeting-own", "get", "/api/v1/meetings/{w.meeting.pk}/", None, (200, 200, 404, 401, 401)),
    ("meeting-other", "get", "/api/v1/meetings/{w.other_meeting.pk}/", None, (200, 404, 200, 401, 401)),
    ("meeting-create", "post", "/api/v1/meetings/",
     lambda w: {"title": "New", "starts_at": next_week(16).isoformat(), "ends_at": next_week(17).isoformat()},
     (201, 403, 403, 401, 401)),
    ("meeting-update", "patch", "/api/v1/meetings/{w.meeting.pk}/", lambda w: {"title": "Renamed"},
     (200, 403, 404, 401, 401)),
    ("meeting-put", "put", "/api/v1/meetings/{w.meeting.pk}/",
     lambda w: {"title": "Replaced", "starts_at": next_week(12).isoformat(), "ends_at": next_week(13).isoformat()},
     (200, 403, 404, 401, 401)),
    ("meeting-reschedule", "post", "/api/v1/meetings/{w.meeting.pk}/reschedule/",
     lambda w: {"starts_at": next_week(12).isoformat(), "ends_at": next_week(13).isoformat()},
     (200, 403, 404, 401, 401)),
    ("meeting-cancel", "post", "/api/v1/meetings/{w.meeting.pk}/cancel/", lambda w: {}, (200, 403, 404, 401, 401)),
    ("meeting-rsvp", "post", "/api/v1/meetings/{w.meeting.pk}/rsvp/",
     lambda w: {"rsvp": "accepted", "person": w.host_person.pk}, (200, 200, 404, 401, 401)),
    ("meeting-rsvp-for-someone-else", "post", "/api/v1/meetings/{w.meeting.pk}/rsvp/",
     lambda w: {"rsvp": "declined", "person": w.visit.contact_id}, (200, 403, 404, 401, 401)),
    # The change history: coordinators only, whatever the caller may otherwise see of the meeting or visit.
    ("meeting-history", "get", "/api/v1/meetings/{w.meeting.pk}/history/", None, (200, 403, 403, 401, 401)),
    ("visit-history", "get", "/api/v1/visits/{w.visit.pk}/history/", None, (200, 403, 403, 401, 401)),
    ("events-list", "get", "/api/v1/events/", None, (200, 200, 200, 200, 200)),
    ("event-public", "get", "/api/v1/events/{w.public_meeting.event_id}/", None, (200, 200, 200, 200, 200)),
    ("me", "get", "/api/v1/me/", None, (200, 200, 200, 401, 401)),
    ("me-rotate", "post", "/api/v1/me/rotate-feed-token/", lambda w: {}, (200, 200, 200, 401, 401)),
    ("visit-request-create", "post", "/api/v1/visit-requests/", lambda w: visit_request_body(77),
     (201, 201, 201, 201, 201)),
    ("visit-request-read", "get", "/api/v1/visit-requests/{token}/", None, (404, 404, 404, 404, 200)),
    ("visit-request-cancel", "post", "/api/v1/visit-requests/{token}/cancel/", lambda w: {"reason": "Ill"},
     (404, 404, 404, 404, 200)),
    ("visit-request-message", "post", "/api/v1/visit-requests/{token}/messages/",
     lambda w: {"body": "Could we come a week later?"}, (404, 404, 404, 404, 201)),
]

CELLS += AVAILABILITY_CELLS
CELLS += SCHEDULING_CELLS
CELLS += WEBHOOK_CELLS


def _cases():
    for name, method, path, body, expected in CELLS:
        assert len(expected) == len(ROLES), name
        for role, status in zip(ROLES, expected, strict=True):
            yield pytest.param(role, method, path, body, status, id=f"{name}-{role}")


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "method", "path", "body", "expected"), list(_cases()))
def test_cell(world, role, method, path, body, expected):
    token = world.visit.status_token if role == "requester" else "wrong-" + "x" * 30
    client = world.client(role if role in ("host", "other_host", "coordinator") else "anonymous")
    url = path.format(w=world, token=token)
    kwargs = {"format": "json"}
    if body is not None:
        kwargs["data"] = body(world)
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == expected, (role, method, url, response.content[:500])
    if expected >= 400:
        assert set(response.json()) == {"error"}, response.content
    # Visit ``world.visit`` cannot complete before it even happened: the 409 names the reason.
    if expected == 409 and "complete" in url:
        assert response.json()["error"]["code"] == "invalid_transition"


def test_matrix_covers_every_route():
    """Each path of the router appears in the matrix, so a new endpoint cannot ship unchecked."""
    from django.urls import get_resolver

    from api import v1

    templates = {c[2].split("{")[0].rstrip("/") for c in CELLS}
    for pattern in v1.urlpatterns:
        route = str(pattern.pattern).lstrip("^").split("(")[0].split("<")[0].rstrip("$").rstrip("/")
        prefix = "/api/v1/" + route
        assert any(t.startswith(prefix.rstrip("/")) for t in templates), prefix
    assert get_resolver() is not None
