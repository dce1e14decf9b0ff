"""One JSON error shape for every API failure.

    {"error": {"code": "...", "message": "...", "fields": {"field": ["msg", ...]}, ...detail}}

Domain errors become their own status (409 for conflicts and illegal transitions); anything
unexpected is still logged by Django but never leaks a traceback.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DATABASE_RETRY_AFTER, DomainError, is_database_stall


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value):
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    return str(value)


#: PostgreSQL SQLSTATEs that mean "a concurrent transaction got in the way; try again".
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _database_error_response(exc) -> Response | None:
    """Database refusals that reach the view are the client's problem (4xx), not a crash (5xx)."""
    if isinstance(exc, (ProtectedError, RestrictedError)):
        names = sorted({str(o) for o in list(getattr(exc, "protected_objects", None) or
                                              getattr(exc, "restricted_objects", None) or [])[:5]})
        return Response(
            {"error": {"code": "in_use", "message": "Still referenced; remove the references first.", "used_by": names}},
            status=status.HTTP_409_CONFLICT,
        )
    if is_database_stall(exc):  # a lock or statement timeout of web requests (config/database.py)
        return Response(
            {"error": {"code": "database_busy", "message": "The database did not answer in time; retry shortly.",
                       "retry_after": DATABASE_RETRY_AFTER}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    if isinstance(exc, IntegrityError):
        return Response(
            {"error": {"code": "integrity", "message": "This would duplicate or orphan stored data."}},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        return Response(
            {"error": {"code": "invalid", "message": "A value is out of range for storage."}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, OperationalError) and getattr(getattr(exc, "__cause__", None), "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return Response(
            {"error": {"code": "concurrent_update", "message": "A concurrent request changed the same data; retry."}},
            status=status.HTTP_409_CONFLICT,
        )
    return None


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # a body without Content-Length that grew too large
        return Response({"error": {"code": "too_large", "message": "The request body is too large."}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    database_response = _database_error_response(exc)
    if database_response is not None:
        return database_response
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "message": exc.message, **exc.detail}
        if exc.field:
            body["fields"] = {exc.field: [exc.message]}
        return Response({"error": body}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "error": {"code": "invalid", "message": "Some fields are not valid.", "fields": _fields(exc.detail)}
        }
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(exc, "default_code", "error")
        response.data = {"error": {"code": code, "message": str(detail)}}
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and getattr(exc, "wait", None):
            response.data["error"]["retry_after"] = exc.wait
    return response
