"""The requester's status page of a visit (the feed links are ``calendars.links``).

Both secrets can be rotated by a coordinator (``visit_rotate_feed_token`` /
``visit_rotate_status_token``); every link built from the old one then answers 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.links import link_for

if TYPE_CHECKING:
    from .models import Visit


def visit_status_url(visit: Visit) -> str:
    """The requester's status page: a page of the ``web`` interface, which registers where it lives."""
    return link_for("visit-status", visit)
