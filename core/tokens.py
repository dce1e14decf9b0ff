"""Secrets that go into URLs (calendar feeds, requester status links).

192 random bits from ``secrets``, URL-safe; they are stored so the owner can be shown the link again
and rotated by replacing the value, after which the old link answers 404.
"""

import secrets

TOKEN_BYTES = 24


def new_url_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)
