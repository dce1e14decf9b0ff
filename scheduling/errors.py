from __future__ import annotations

from core.errors import DomainError
from visits.errors import WorldChanged

__all__ = ["ProposalClosed", "RepairPlanStale", "WorldChanged"]  # booking (visits.booking) raises WorldChanged


class ProposalClosed(DomainError):
    """The proposal was accepted or discarded; it can no longer be changed that way."""

    code = "proposal_closed"
    status = 409


class RepairPlanStale(DomainError):
    """The repair plan being confirmed is not the current one: the programme or the world changed
    since it was shown (or another preview replaced it). Nothing was changed; preview again."""

    code = "repair_plan_stale"
    status = 409
