"""Enters the change-history context for each request (PostgreSQL only; see ``history.context``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse
from pghistory.middleware import HistoryMiddleware as PgHistoryMiddleware

from .context import recording


def via(path: str) -> str:
    """Which door a change came through: the API (the planner's calls too), the admin, or a page."""
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class HistoryMiddleware(PgHistoryMiddleware):
    """pghistory's middleware plus where the change came from and the request's log id.

    pghistory's own middleware records the user (re-read when DRF authenticates a token inside the
    view) and the URL. On SQLite it steps aside: pghistory would prefix every statement with
    PostgreSQL's ``set_config``.
    """

    get_response: Callable[[HttpRequest], HttpResponse]

    def get_context(self, request: HttpRequest) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(request)
        context["via"] = via(request.path)
        context["request_id"] = structlog.contextvars.get_contextvars().get("request_id")
        return context

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not recording():
            return self.get_response(request)
        response: HttpResponse = super().__call__(request)  # type: ignore[no-untyped-call]
        return response
