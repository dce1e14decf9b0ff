"""List pagination: keyset ("cursor") pages whose cost does not grow with depth, and no COUNT per page.

``OFFSET`` pagination reads and throws away every row before the page, and DRF's page-number style
also counts the whole list on every page: page 600 of the meetings cost 316 ms where page 1 cost
53 ms (issue 21). A keyset page instead continues *after the last row the client saw*:

    WHERE (starts_at, id) > (:last_starts_at, :last_id) ORDER BY starts_at, id LIMIT 101

which the ``starts_at`` index answers at any depth. The position lives in an opaque ``cursor``
(base64url JSON of the last row's ordering values). The list's ordering — ``?ordering=`` through
DRF's ``OrderingFilter``, else the model's default — always ends with the primary key, so rows with
equal sort keys (two meetings at 10:00, two people named "Anna Berg") are neither repeated nor
skipped at a page boundary, and rows inserted meanwhile never shift the pages after them. Nullable
sort fields sort their NULLs last in both directions and are compared accordingly.

The answer keeps the shape clients know (``count``, ``next``, ``previous``, ``results``):

* ``next`` / ``previous`` are links carrying ``cursor=`` — follow them, never build them;
* ``count`` is counted once, on the first page (no cursor), and carried in the cursor from then on:
  the number of matching rows when the client started paging (it does not move while paging);
* ``?page=N`` still works as before (OFFSET and a COUNT per page, links with ``page=``), for
  clients written against the old page numbers; it is deprecated and costs what it always did.

A queryset whose ordering cannot be keyed (an expression, a relation, random) falls back to the
page-number style, so any list can use this class.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 200


class PageNumbers(PageNumberPagination):
    """The page-number style (``?page=N``): what every list answered before keyset pages."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


@dataclass(frozen=True)
class _Key:
    """One term of the ordering: a concrete local field, its direction, whether it can be NULL."""

    field: Field[Any, Any]
    descending: bool

    @property
    def name(self) -> str:
        return self.field.attname

    @property
    def nullable(self) -> bool:
        return bool(self.field.null)

    def order_by(self) -> OrderBy:
        expression = F(self.name)
        if self.nullable:  # NULLs last both ways, so "after NULL" has one meaning whatever the database
            return expression.desc(nulls_last=True) if self.descending else expression.asc(nulls_last=True)
        return expression.desc() if self.descending else expression.asc()

    def reversed(self) -> _Key:
        return _Key(self.field, not self.descending)


def _ordering_keys(queryset: QuerySet[Any]) -> list[_Key] | None:
    """The queryset's ordering as keys ending with the primary key; None if it cannot be keyed."""
    query = queryset.query
    model = queryset.model
    terms: Sequence[Any]
    if query.order_by:
        terms = query.order_by
    elif query.default_ordering and model._meta.ordering:
        terms = model._meta.ordering
    else:
        terms = []
    if query.extra_order_by:
        return None
    keys: list[_Key] = []
    pk = model._meta.pk
    assert pk is not None
    for term in terms:
        if not isinstance(term, str) or term == "?" or "__" in term:
            return None
        descending = term.startswith("-")
        name = term.lstrip("-+")
        try:
            field = pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist:
            return None  # an annotation: not keyed
        if not isinstance(field, Field) or field.is_relation or not field.concrete:
            return None  # ordering by a relation follows the other model's ordering
        if any(k.field is field for k in keys):
            continue
        keys.append(_Key(field, descending))
        if field is pk:
            return keys  # unique: later terms never decide
    keys.append(_Key(pk, keys[-1].descending if keys else False))
    return keys


def _after(keys: list[_Key], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in the order ``keys`` (a row-value comparison, spelled out for NULLs)."""
    condition = Q(pk__in=[])  # nothing
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        if value is None:
            later = Q(pk__in=[])  # NULLs sort last: nothing comes after NULL in this term
            same = Q(**{f"{key.name}__isnull": True})
        else:
            later = Q(**{f"{key.name}__{'lt' if key.descending else 'gt'}": value})
            if key.nullable:
                later |= Q(**{f"{key.name}__isnull": True})
            same = Q(**{key.name: value})
        condition |= equal & later
        equal &= same
    first, start = keys[0], values[0]
    if start is not None and not first.nullable:
        # Redundant, but a plain range on the leading key is what lets the database start the index
        # scan at the position instead of filtering every row before it (depth would cost linearly).
        condition = Q(**{f"{first.name}__{'lte' if first.descending else 'gte'}": start}) & condition
    return condition


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _decode(field: Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise DjangoValidationError("not a scalar")
    return field.to_python(value)


class KeysetPagination(BasePagination):
    """Keyset pages (``?cursor=``), page numbers on request (``?page=``); see the module docstring."""

    page_size = api_settings.PAGE_SIZE or 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"
    page_query_param = "page"

    def __init__(self) -> None:
        self.legacy: PageNumbers | None = None

    # --- the page ---------------------------------------------------------------------------------

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any] | None:
        keys = _ordering_keys(queryset)
        if keys is None or (self.page_query_param in request.query_params
                            and self.cursor_query_param not in request.query_params):
            self.legacy = PageNumbers()
            return self.legacy.paginate_queryset(queryset, request, view)
        self.request = request
        self.keys = keys
        self.size = self._page_size(request)
        position, backwards, count = self._read_cursor(request)
        if position is None:
            count = queryset.count()  # once per listing, on its first page
        self.count = count
        order = [k.reversed() if backwards else k for k in keys]
        rows = queryset.order_by(*(k.order_by() for k in order))
        if position is not None:
            rows = rows.filter(_after(order, position))
        page = list(rows[: self.size + 1])
        more = len(page) > self.size
        page = page[: self.size]
        if backwards:
            page.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, position is not None
        self.page = page
        return page

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            return self.page_size
        return min(size, self.max_page_size) if size > 0 else self.page_size

    def _read_cursor(self, request: Request) -> tuple[list[Any] | None, bool, int | None]:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None, False, None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)))
            values = data["p"]
            if not isinstance(values, list) or len(values) != len(self.keys):
                raise ValueError("the cursor belongs to another ordering")
            position = [_decode(key.field, value) for key, value in zip(self.keys, values, strict=True)]
            count = data.get("c")
            if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
                raise ValueError("count")
            return position, bool(data.get("r")), count
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error, DjangoValidationError) as exc:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor: follow the next/previous links."]}) from exc

    def _cursor_url(self, row: Model, *, backwards: bool) -> str:
        data = {"p": [_encode(getattr(row, key.name)) for key in self.keys], "c": self.count}
        if backwards:
            data["r"] = 1
        token = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        if self.legacy is not None:
            return self.legacy.get_next_link()
        if not self.has_next or not self.page:
            return None
        return self._cursor_url(self.page[-1], backwards=False)

    def get_previous_link(self) -> str | None:
        if self.legacy is not None:
            return self.legacy.get_previous_link()
        if not self.has_previous:
            return None
        if not self.page:  # past the end (rows deleted meanwhile): back to the first page
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return self._cursor_url(self.page[0], backwards=True)

    def get_paginated_response(self, data: Any) -> Response:
        if self.legacy is not None:
            return self.legacy.get_paginated_response(data)
        return Response({
            "count": self.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    # --- the schema -------------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer", "nullable": True, "example": 123,
                    "description": "Matching items, counted on the first page and carried by the cursor "
                                   "(it does not move while paging).",
                },
                "next": {
                    "type": "string", "nullable": True, "format": "uri",
                    "example": "https://visitdesk.example.org/api/v1/meetings/?cursor=eyJwIjpbIjIwMjYt",
                    "description": "The next page (keyset cursor); null on the last page.",
                },
                "previous": {
                    "type": "string", "nullable": True, "format": "uri",
                    "description": "The previous page; null on the first page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param, "required": False, "in": "query",
                "description": "Opaque position from a previous answer's next/previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param, "required": False, "in": "query",
                "description": f"Items per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": self.page_query_param, "required": False, "in": "query", "deprecated": True,
                "description": "Page number (OFFSET paging with a count per page; slower the deeper it goes). "
                               "Use the cursor links instead.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
