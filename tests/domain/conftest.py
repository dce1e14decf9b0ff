"""Builders for the domain tests: requests go through ``visits.services`` exactly as the API sends them."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone as djtz

from visits import services as visit_services

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin(*args) -> datetime:
    """Aware datetime for a Berlin wall-clock time."""
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def submit_request(db):
    """Submit a visit request through the public workflow; returns the new (requested) visit."""
    counter = iter(range(1, 10_000))

    def submit(**overrides):
        n = next(counter)
        start = djtz.localdate() + timedelta(days=10)
        data = {
            "organisation_name": f"Cluster Agency {n}",
            "organisation_country": "DE",
            "contact_name": f"Contact {n}",
            "contact_email": f"contact{n}@cluster.example.org",
            "delegation_name": f"Delegation {n}",
            "delegation_size": 3,
            "preferred_windows": [(start, start + timedelta(days=1))],
        }
        data.update(overrides)
        return visit_services.visit_request_submit(data=visit_services.VisitRequestInput(**data))

    return submit
