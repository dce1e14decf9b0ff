from __future__ import annotations

from core.errors import DomainError


class WorldChanged(DomainError):
    """Booking found a person or room busy that was free when the schedule was computed."""

    code = "world_changed"
    status = 409


class ProposalClosed(DomainError):
    """The proposal was accepted or discarded; it can no longer be changed that way."""

    code = "proposal_closed"
    status = 409
