from __future__ import annotations

from core.errors import DomainError
from visits.errors import WorldChanged

__all__ = ["ProposalClosed", "WorldChanged"]  # booking (visits.booking) raises WorldChanged


class ProposalClosed(DomainError):
    """The proposal was accepted or discarded; it can no longer be changed that way."""

    code = "proposal_closed"
    status = 409
