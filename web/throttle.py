"""Per-client rate limits for the public pages: the page-shaped 429 around ``core.throttle``.

The counting and the rate table (``VISITDESK_THROTTLE_RATES``, shared with the API and the feeds)
live in ``core.throttle``; this module only decides which requests count and renders the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from core.throttle import client_ip, hit

_P = ParamSpec("_P")
#: A view: the request, then whatever the URL captured.
View = Callable[Concatenate[HttpRequest, _P], HttpResponseBase]


def per_user(request: HttpRequest) -> str:
    """The key for pages behind a login: the account, wherever it signs in from."""
    return f"user:{request.user.pk}" if request.user.is_authenticated else client_ip(request)


def throttled(
    scope: str,
    *,
    methods: tuple[str, ...] = ("GET", "POST"),
    when: Callable[[HttpRequest], bool] | None = None,
    key: Callable[[HttpRequest], str] = client_ip,
) -> Callable[[View[_P]], View[_P]]:
    """Answer 429 (a page saying when to retry) once a client exceeds the scope's rate.

    ``when(request)`` can narrow what counts, e.g. only real submissions and not "add a row";
    ``key(request)`` says who "a client" is (the address by default, ``per_user`` for staff actions).
    """

    def decorator(view: View[_P]) -> View[_P]:
        @wraps(view)
        def wrapped(request: HttpRequest, /, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponseBase:
            if request.method in methods and (when is None or when(request)):
                wait = hit(scope, key(request))
                if wait is not None:
                    response = render(request, "web/throttled.html", {"retry_after": wait}, status=429)
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
