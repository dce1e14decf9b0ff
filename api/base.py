"""What every resource module of the API shares, in one place: the view bases, who may do what, the error
shape, ``Idempotency-Key`` and ``If-Match``.

Each resource lives in a module of its own (``meetings.py``, ``visits.py``, ``proposals.py``, …) as DRF
viewsets: the CRUD verbs where a resource has them, ``@action`` for everything else. They import what
they share from here and from nothing else in ``api`` but the shapes (``serializers``, ``fields``,
``filters``) and ``visibility``; no resource module imports another, so there is no import circle.
Routes are registered in ``api/v1.py`` only.

Sections:

* **views** — ``ApiViewSet`` (JSON in and out, token or session auth, pagination, filters, the schema
  class), ``ScopedViewSet``/``CrudViewSet`` (a host sees what ``visible_ids`` gives), ``OwnedViewSet``
  (a host's own rows), ``PublicViewSet`` (no account, throttled); the JSON parser they use is
  ``api/parsers.py`` (DRF's settings import it while DRF itself is loading);
* **permissions** — coordinators do everything; a host reads what their meetings reference (see the
  module ``visibility``); what a caller may not see answers 404, what they see but may not change 403;
* **errors** — ``exception_handler``: one JSON shape for every failure, domain errors mapped to their status;
* **idempotency** — ``@idempotent`` for create endpoints;
* **preconditions** — ``ETag``/``If-Match`` for meetings;
* **schema** — every operation documents its error answers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import update_wrapper
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError, models, transaction
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import BasePagination
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DATABASE_RETRY_AFTER, DomainError, is_database_stall
from core.roles import COORDINATOR_GROUP, is_coordinator, person_for_user
from directory.models import Person
from events.models import Meeting
from events.selectors import meeting_version

from .models import IdempotencyKey
from .pagination import KeysetPagination
from .parsers import SafeJSONParser
from .serializers import ErrorSerializer

__all__ = ["COORDINATOR_GROUP", "caller_person", "is_coordinator"]

_M = TypeVar("_M", bound=models.Model)
_V = TypeVar("_V", bound=APIView)
_P = ParamSpec("_P")


# --- who is calling ----------------------------------------------------------------------------


def caller_person(user: Any) -> Person | None:
    """The ``Person`` linked to this account, or None (see ``core.roles.person_for_user``)."""
    person = person_for_user(user)
    return person if isinstance(person, Person) else None


class SafeTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; a key that cannot exist is refused without a query."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if not key or len(key) > 40 or "\x00" in key:
            raise AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


# --- permissions -------------------------------------------------------------------------------


class CoordinatorWritesOthersRead(BasePermission):
    """Reads for any authenticated caller (the queryset is already scoped); writes for coordinators.

    On detail routes the decision waits for the object, so an object outside the caller's scope
    answers 404 before the 403 for a forbidden write could reveal that it exists.
    """

    message = "Only coordinators may change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            return True
        return is_coordinator(request.user)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return request.method in SAFE_METHODS or is_coordinator(request.user)


class PublicReadCoordinatorWrites(CoordinatorWritesOthersRead):
    """Anyone may read (topics, public events); only coordinators write."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class IsParticipantOrCoordinator(BasePermission):
    """For RSVP: a host answers for themself; a coordinator may answer for anyone."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return True  # the queryset already limits hosts to their own meetings; the view checks the person


class IsCoordinator(BasePermission):
    """Coordinators only; anyone else signed in gets 403 (and without credentials 401)."""

    message = "Only coordinators may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_coordinator(request.user)


class Schedulers(IsCoordinator):
    """The solver and proposals (``scheduling.py``, ``proposals.py``)."""

    message = "Only coordinators may schedule."


class OwnOrCoordinator(IsAuthenticated):
    """Any signed-in caller with a person (a host) or a coordinator; the queryset does the scoping."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return is_coordinator(request.user) or caller_person(request.user) is not None


class HostsReadCoordinatorsWrite(OwnOrCoordinator):
    """Hosts and coordinators read; coordinators write (room closures)."""

    message = "Only coordinators may change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or is_coordinator(request.user)


# --- the schema: every operation documents its error answers ------------------------------------


class VisitdeskAutoSchema(AutoSchema):
    """Clients (and schemathesis) know that a 400 carries ``error.fields`` and a 409 ``error.conflicts``,
    without each view repeating it."""

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

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        """drf-spectacular leaves out a list's length limits (``ListSerializer(min_length=…, max_length=…)``)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)  # type: ignore[no-untyped-call]
        if isinstance(field, serializers.ListSerializer) and isinstance(schema, dict) and schema.get("type") == "array":
            shortest: int | None = getattr(field, "min_length", None)  # not in the stubs
            longest: int | None = getattr(field, "max_length", None)
            if field.allow_empty is False:
                shortest = max(shortest or 0, 1)
            if shortest is not None:
                schema["minItems"] = shortest
            if longest is not None:
                schema["maxItems"] = longest
        return schema

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        """The action's or the resource's own docstring; not the shared bases' (they describe code, not the API)."""
        description: str = super().get_description()
        shared = {get_doc(base) for base in (ApiViewSet, ScopedViewSet, CrudViewSet, OwnedViewSet, PublicViewSet)}
        return "" if description in shared else description

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in self._error_codes().items():
            if code not in responses:
                response = self._get_response_for_code(  # type: ignore[no-untyped-call]  # untyped in drf-spectacular
                    ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses


# --- view bases --------------------------------------------------------------------------------


class ApiMetadata(SimpleMetadata):
    """``OPTIONS``: the view's name, description and media types, not a description of each action's
    serializer — DRF's default builds the serializer of every POST/PUT route, which fails on actions
    whose input is not the viewset's ``serializer_class`` (it answered 500). The OpenAPI schema at
    ``/api/schema/`` is the description of the inputs."""

    def determine_actions(self, request: Request, view: APIView) -> dict[str, Any]:
        return {}


class ApiViewSet(viewsets.GenericViewSet[_M]):
    """JSON in, JSON out, token or session auth (session writes need the CSRF token)."""

    parser_classes = [SafeJSONParser]
    renderer_classes = [JSONRenderer]
    authentication_classes = [SafeTokenAuthentication, SessionAuthentication]
    metadata_class = ApiMetadata  # type: ignore[assignment]  # the stubs type it as an instance; DRF wants the class
    pagination_class: type[BasePagination] | None = KeysetPagination  # keyset pages; ?page=N still answered
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    schema = VisitdeskAutoSchema()
    #: ``api.v1.Router``: the name of the collection route (``<prefix>/``) when not ``<basename>-list``.
    collection_name: ClassVar[str | None] = None
    #: ``api.v1.Router``: a singleton (``me/``): GET on the collection route is ``retrieve``, not ``list``.
    singleton: ClassVar[bool] = False

    def validated(self, serializer_class: Callable[..., Any], data: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The request body (or ``data``) checked by ``serializer_class``: its validated data, or a 400."""
        serializer = serializer_class(data=self.request.data if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        result: dict[str, Any] = serializer.validated_data
        return result

    @property
    def caller(self) -> Person | None:
        return caller_person(self.request.user)

    @property
    def coordinator(self) -> bool:
        return is_coordinator(self.request.user)


class ScopedViewSet(ApiViewSet[_M]):
    """Coordinators see everything; a host sees what ``visible_ids`` gives; anyone else nothing."""

    permission_classes = [CoordinatorWritesOthersRead]
    @staticmethod
    def visible_ids(person: Person) -> QuerySet[Any] | None:
        """The pks a host may see (a function of ``api.visibility``); None: hosts see nothing."""
        return None

    def base_queryset(self) -> QuerySet[_M]:
        assert self.queryset is not None
        return self.queryset.all()

    def get_queryset(self) -> QuerySet[_M]:
        qs = self.base_queryset()
        if self.coordinator:
            return qs
        person = self.caller
        visible = self.visible_ids(person) if person is not None else None
        return qs.filter(pk__in=visible) if visible is not None else qs.none()


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet[_M],
):
    """Reference data (organisations, people, venues, rooms): hosts read what they may see, coordinators write."""


class OwnedViewSet(ApiViewSet[_M]):
    """Rows that belong to a person: coordinators see every row; a host only their own; anyone else none."""

    permission_classes = [OwnOrCoordinator]

    def get_queryset(self) -> QuerySet[_M]:
        assert self.queryset is not None
        qs = self.queryset.all()
        if self.coordinator:
            return qs
        me = self.caller
        return qs.filter(person=me) if me is not None else qs.none()

    def person_in(self, data: Mapping[str, Any]) -> Person:
        """Whose row this is: ``person`` in the body, by default the caller; a host names only themself."""
        me = self.caller
        person = data.get("person") or me
        if person is None:
            raise exceptions.ValidationError({"person": ["Say whose this is."]})
        if not self.coordinator and person != me:
            raise PermissionDenied("Hosts may only manage their own.")
        assert isinstance(person, Person)
        return person


class PublicViewSet(ApiViewSet[_M]):
    """No account: what the caller may reach is decided by a token in the path, or it is public."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]


def me_or_404(request: Request) -> Person:
    """The caller's own person; 404 when the account has none."""
    person = caller_person(request.user)
    if person is None:
        raise NotFound("No person is linked to this account.")
    return person


def int_or_404(value: Any) -> int:
    """A path's id as a number; an id that cannot be one answers 404 like an unknown one."""
    text = str(value)
    if not text.isdigit() or len(text) > 18:
        raise NotFound()
    return int(text)


# --- errors: one JSON shape for every failure ---------------------------------------------------
#
#     {"error": {"code": "...", "message": "...", "fields": {"field": ["msg", ...]}, ...detail}}
#
# Domain errors become their own status (409 for conflicts and illegal transitions); anything
# unexpected is still logged by Django but never leaks a traceback.


def _fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    return str(value)


#: PostgreSQL SQLSTATEs that mean "a concurrent transaction got in the way; try again".
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def _database_error_response(exc: Exception) -> Response | None:
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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """``REST_FRAMEWORK["EXCEPTION_HANDLER"]``: every failure in the one error shape."""
    if isinstance(exc, RequestDataTooBig):  # a body without Content-Length that grew too large
        return Response({"error": {"code": "too_large", "message": "The request body is too large."}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    database_response = _database_error_response(exc)
    if database_response is not None:
        return database_response
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message, **exc.detail}
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
        wait = getattr(exc, "wait", None)
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and wait:
            response.data["error"]["retry_after"] = wait
    return response


# --- Idempotency-Key for create endpoints (visit requests, meetings) ----------------------------
#
#     first request    → claims (caller, endpoint, key) with the body's hash, runs, stores status + body
#     same key + body  → the stored answer again (same status, same body), nothing created
#     same key, other body → 422 ``idempotency_mismatch``
#     same key while the first still runs → 409 ``idempotency_in_progress`` (retry later)
#
# The claim is committed before the work starts, so the unique constraint settles concurrent
# duplicates; a request that fails (4xx/5xx) releases its claim, so a corrected retry may reuse the key.

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
#: Stored answers older than this no longer block a key (they are replaced on next use).
IDEMPOTENCY_RETENTION = timedelta(hours=24)

IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[\x21-\x7e]{1,255}$",
    description="Any unique string of 1–255 visible ASCII characters (e.g. a UUID). Repeating the request with "
    "the same key and body replays the first answer instead of creating twice; the same key with another body "
    "answers 422.",
)


def abandoned_after() -> timedelta:
    """An unfinished claim older than this has no request behind it: gunicorn kills a request at its
    timeout (``VISITDESK_WEB_TIMEOUT``), and the work and its stored answer commit in one transaction,
    so a claim still "in progress" after that belongs to a server that died mid-request and whose
    work rolled back; the next request with the key takes it over (found by ``make drill``)."""
    return timedelta(seconds=settings.VISITDESK_WEB_TIMEOUT + 10)


class IdempotencyMismatch(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_mismatch"
    default_detail = "This Idempotency-Key was already used with a different request body."


class IdempotencyInProgress(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."


def caller_scope(request: Request) -> str:
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    ident = request.META.get("REMOTE_ADDR") or "unknown"
    num_proxies = api_settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies and forwarded:
        addrs = [a.strip() for a in forwarded.split(",")]
        ident = addrs[-min(num_proxies, len(addrs))]
    return f"anon:{ident[:80]}"


def _body_hash(request: Request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body, status=row.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


ViewMethod = Callable[Concatenate[_V, Request, _P], Response]


def idempotent(endpoint: str) -> Callable[[ViewMethod[_V, _P]], ViewMethod[_V, _P]]:
    """Decorate a view method that creates something; the header is optional."""

    def decorator(method: ViewMethod[_V, _P]) -> ViewMethod[_V, _P]:
        def wrapper(self: _V, request: Request, /, *args: _P.args, **kwargs: _P.kwargs) -> Response:
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is None:
                return method(self, request, *args, **kwargs)
            if not _KEY_RE.match(key):
                raise exceptions.ValidationError({IDEMPOTENCY_HEADER: ["Use 1–255 visible ASCII characters, e.g. a UUID."]})
            scope = caller_scope(request)
            digest = _body_hash(request)  # parses the body first: malformed JSON is a 400 before any claim
            row = _claim(scope=scope, endpoint=endpoint, key=key, digest=digest)
            if row is not None:
                if row.request_hash != digest:
                    raise IdempotencyMismatch()
                if row.state != IdempotencyKey.State.DONE:
                    raise IdempotencyInProgress()
                return _replay(row)
            try:
                with transaction.atomic():  # the work and its stored answer: both or neither
                    response = method(self, request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).update(
                            state=IdempotencyKey.State.DONE,
                            response_status=response.status_code,
                            response_body=json.loads(json.dumps(response.data, default=str)),
                        )
            except BaseException:
                IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).delete()
                raise
            if not 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).delete()
            return response

        update_wrapper(wrapper, method)
        return wrapper

    return decorator


def _claim(*, scope: str, endpoint: str, key: str, digest: str) -> IdempotencyKey | None:
    """Claim the key (returns None) or return the row of whoever claimed it first."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(scope=scope, endpoint=endpoint, key=key, request_hash=digest)
            return None
        except IntegrityError:
            row = IdempotencyKey.objects.filter(scope=scope, endpoint=endpoint, key=key).first()
            if row is None:
                continue  # the holder failed and released it between our insert and our read
            if row.created_at < timezone.now() - IDEMPOTENCY_RETENTION:
                IdempotencyKey.objects.filter(pk=row.pk).delete()
                continue
            if row.state == IdempotencyKey.State.IN_PROGRESS and row.created_at < timezone.now() - abandoned_after():
                # Its request cannot still be running: its server died, and its work rolled back.
                IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS).delete()
                continue
            return row
    raise IdempotencyInProgress()


# --- preconditions: ETag on every meeting response, If-Match on writes --------------------------
#
# Two coordinators planning the same day must never silently overwrite each other. A client that
# sends ``If-Match`` with the ETag it last saw gets 412 when the meeting changed in between (any
# write: time, room, agenda, participants, RSVPs, cancellation); without the header a write behaves
# as before, so existing API clients keep working. The comparison happens on the locked row inside
# the write's transaction (``visits.booking`` calls the guard), so two writers holding the same ETag
# cannot both pass.


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "This meeting was changed by someone else since you loaded it. Reload it and try again."
    default_code = "stale"


def etag(meeting: Meeting) -> str:
    return f'"{meeting_version(meeting)}"'


def with_etag(response: Response, meeting: Meeting) -> Response:
    response["ETag"] = etag(meeting)
    return response


def _listed_tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def check_if_match(request: Request, meeting: Meeting) -> None:
    """Refuse with 412 when ``If-Match`` names no current version. Call inside ``transaction.atomic``.

    Weak tags (``W/"…"``) never match: If-Match uses the strong comparison (RFC 9110 §13.1.1).
    """
    tags = _listed_tags(request.headers.get("If-Match") or "")
    if not tags or "*" in tags:  # no header, or an empty one: an unconditional write
        return
    current = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if etag(current) not in tags:
        raise PreconditionFailed()


def if_match_guard(request: Request) -> Callable[[Meeting], None]:
    """The API's ``If-Match`` check, for ``visits.booking`` to run on the locked, fresh row."""

    def guard(meeting: Meeting) -> None:
        check_if_match(request, meeting)

    return guard


IF_MATCH_PARAM = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The meeting's ETag as last read. If the meeting changed since, the write is refused with 412 "
    "and nothing changes.",
)
