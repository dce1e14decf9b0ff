"""The verification snippet in docs/operations.md works as printed, against a real delivery."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webhooks import delivery, services

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def snippet() -> str:
    section = DOCS.read_text().split("### Verifying a delivery", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_receiver_accepts_a_delivery_and_refuses_a_forgery(receiver):
    endpoint = services.endpoint_create(url=receiver.url, event_types=["meeting.created"])
    services.endpoint_send_test(endpoint=endpoint)
    delivery.dispatch_due()
    [received] = receiver.snapshot()

    handled, seen = [], set()
    namespace = {"already_processed": lambda webhook_id: webhook_id in seen or seen.add(webhook_id),
                 "handle": lambda *args: handled.append(args)}
    exec(snippet().replace("whsec_…", endpoint.secret), namespace)
    receive = namespace["receive"]
    assert receive(received.body, received.headers) == (200, "ok")
    assert handled == [("webhook.test", 1, {"endpoint": endpoint.pk,
                                            "message": "A test event sent on request from Visitdesk."})]
    assert receive(received.body, received.headers) == (200, "duplicate")
    assert receive(received.body.replace(b"test", b"tost"), received.headers) == (400, "bad signature")
