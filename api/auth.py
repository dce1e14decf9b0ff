"""The API's token, accepted by plain views outside the API (see ``core.auth``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def token_user(request: HttpRequest) -> Any:
    """The user of an ``Authorization: Token …`` header, or None (also for a wrong token)."""
    try:
        found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]  # reads only headers
    except AuthenticationFailed:
        return None
    return found[0] if found else None
