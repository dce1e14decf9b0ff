"""Authorization-matrix cells for the webhook endpoints (issue 23), joined into the matrix: coordinators
only. Routes on one endpoint (read, change, delete, deliveries, test, rotate) are checked per role in
tests/api/test_webhooks_api.py, which makes the endpoint they need."""

from __future__ import annotations

CELLS = [
    ("webhooks-list", "get", "/api/v1/webhooks/", None, (200, 403, 403, 401, 401)),
    # A public address literal: no DNS needed, and it passes the same check as a calendar import.
    ("webhook-create", "post", "/api/v1/webhooks/",
     lambda w: {"url": "https://93.184.215.14/hooks", "event_types": ["meeting.created"]},
     (201, 403, 403, 401, 401)),
]
