from __future__ import annotations

import pytest

from .receiver import start_receiver


@pytest.fixture
def receiver(settings):
    """A local receiver; local addresses are allowed for it, as the calendar import tests allow them."""
    settings.VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = True
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
