"""The one error type domain services raise; interfaces (API, pages, admin) translate it.

``code`` is stable and machine-readable, ``status`` is the HTTP status the API answers with,
``detail`` may carry structured data (e.g. the conflicting meetings).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail or {}
        self.field = field


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a business rule; ``field`` names the culprit."""

    code = "invalid"
    status = 400


class NotAllowed(DomainError):
    """The caller's role does not allow this (e.g. booking against availability as a host)."""

    code = "permission_denied"
    status = 403
