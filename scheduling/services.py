"""The scheduling app's write functions, in one place for the interfaces; each lives with its concept.

* ``scheduling.batch``: ``batch_solve`` (books nothing) and ``batch_book``;
* ``scheduling.proposals``: ``proposal_create``, ``proposal_resolve``, ``proposal_item_update``,
  ``proposal_discard``, ``proposal_accept``;
* ``scheduling.repair``: ``proposal_repair`` (and ``affected_items``, what it would repair).

Solving never books; booking (``scheduling.booking``) re-checks the world first and books all or nothing.
"""

from __future__ import annotations

from .batch import BatchRequest, batch_book, batch_solve
from .booking import BookingSpec
from .proposals import proposal_accept, proposal_create, proposal_discard, proposal_item_update, proposal_resolve
from .repair import affected_items, proposal_repair

__all__ = [
    "BatchRequest", "BookingSpec", "affected_items", "batch_book", "batch_solve", "proposal_accept",
    "proposal_create", "proposal_discard", "proposal_item_update", "proposal_repair", "proposal_resolve",
]
