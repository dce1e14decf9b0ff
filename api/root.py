"""``GET /api/v1/``: what a newcomer finds at the API's root — every endpoint, the schema and the docs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


@extend_schema(exclude=True)
class ApiRootViewSet(viewsets.ViewSet):
    """Lists the v1 endpoints with absolute URLs (list routes; detail routes are ``<list>/{id}/``).

    Public: the same names are in the public OpenAPI schema; what each answers is still governed by
    its own permissions.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    renderer_classes = [JSONRenderer]
    #: Set by api.v1: its URL patterns. Every named route that needs no id is listed, so endpoints
    #: added later (by any area of the API) appear here without touching this view.
    patterns: Sequence[URLPattern | URLResolver] = ()

    def list(self, request: Request) -> Response:
        endpoints: dict[str, Any] = {}
        root = reverse("api:root")
        for pattern in self.patterns:
            name = getattr(pattern, "name", None)
            if not name or name == "root":
                continue
            try:
                url = reverse(f"api:{name}")
            except NoReverseMatch:  # needs an id or a token: reached from a list or a mail
                continue
            endpoints[url.removeprefix(root).strip("/")] = request.build_absolute_uri(url)
        return Response({
            "version": "v1",
            "endpoints": dict(sorted(endpoints.items())),
            "schema": request.build_absolute_uri(reverse("api:schema")),
            "docs": request.build_absolute_uri(reverse("api:docs")),
            "authentication": "Authorization: Token <key> (manage.py drf_create_token <user>) or a session",
        })
