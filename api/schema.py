"""OpenAPI generation: every operation documents its error answers in the one error shape.

Clients (and schemathesis) then know that a 400 carries ``error.fields`` and a 409 ``error.conflicts``,
without each view repeating it.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from .serializers import ErrorSerializer


class VisitdeskAutoSchema(AutoSchema):
    def _error_codes(self) -> dict[str, str]:
        view = self.view
        codes: dict[str, str] = {"400": "Invalid input: `error.fields` names each field and its problems."}
        public = all(isinstance(p, AllowAny) for p in view.get_permissions())
        if not public:
            codes["401"] = "No or invalid credentials (Token header or session)."
            codes["403"] = "Authenticated, but this role may not do this (CSRF failures also answer 403)."
        codes["404"] = "Not found, outside what the caller may see, or a page number past the end."
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes["409"] = (
                "Conflict: an overlapping room or host (`error.conflicts` names the meetings), an illegal "
                "status transition, an object still in use, or an Idempotency-Key still being processed."
            )
        if getattr(view, "conditional_writes", False) and self.method in ("POST", "PUT", "PATCH") \
                and not self._is_create_operation():
            codes["412"] = "Stale: `If-Match` names a version the object no longer has; read it again (ETag)."
        if self.method == "POST" and self._is_create_operation():
            codes["422"] = "The Idempotency-Key was used before with a different body."
        if getattr(view, "throttle_scope", None) or view.get_throttles():
            codes["429"] = "Too many requests from this client; `error.retry_after` says when to retry."
        if any(getattr(p, "name", None) == "If-Match" for p in self.get_override_parameters()):
            codes["412"] = "`If-Match` names a version that is no longer current: reload and try again."
        if self.method in ("POST", "PUT", "PATCH"):
            codes["415"] = "Send JSON (Content-Type: application/json)."
        codes["406"] = "Only application/json responses are offered."
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._error_codes().items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses
