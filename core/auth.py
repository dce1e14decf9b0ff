"""Who is asking, for plain Django views that also accept the API's credentials.

The single-meeting download (``/calendars/meetings/<pk>.ics``) answers the session user and the
``Authorization: Token …`` header the API issues. The token belongs to the API (DRF's authtoken),
so the API registers how to read it (``ApiConfig.ready``) and domain views call ``request_user``
without importing DRF.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

_authenticators: list[Callable[[HttpRequest], Any]] = []


def authenticator_register(authenticate: Callable[[HttpRequest], Any]) -> None:
    """``authenticate(request)`` returns a user or None (never raises for bad credentials)."""
    if authenticate not in _authenticators:
        _authenticators.append(authenticate)


def request_user(request: HttpRequest) -> Any:
    """The session user, else the first registered authenticator's user; None when anonymous."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    for authenticate in _authenticators:
        found = authenticate(request)
        if found is not None:
            return found
    return None
