"""The API's token, accepted by plain views outside the API (see ``core.auth``)."""

from __future__ import annotations

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def token_user(request):
    """The user of an ``Authorization: Token …`` header, or None (also for a wrong token)."""
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None
