"""Absolute links, and where things live on the interfaces (a URL registry the interfaces fill).

Domain code often has to *mention* a page it does not serve: a mail links the requester's status
page (``web``) and the coordinator's admin page for the visit (``admin``). Reversing ``web:`` or
``admin:`` names from a domain app would be a dependency that hides outside the import statements;
instead each interface registers, when it starts, how to build the URL of the places it owns
(``link_register("visit-status", ...)`` in ``web/apps.py``, ``"visit-admin"`` in ``visits/admin.py``),
and domain code asks for the place by name (``link_for("visit-status", visit)``). A place nobody
registered is a ``LookupError`` naming it, never a silently wrong link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

_places: dict[str, Callable[[Any], str]] = {}


def absolute(path: str) -> str:
    """``/x/`` → ``https://visitdesk.example/x/`` (``SITE_URL``): links that leave the site (mails, feeds)."""
    return f"{settings.SITE_URL}{path}"


def link_register(place: str, build_path: Callable[[Any], str]) -> None:
    """An interface says where ``place`` lives: ``build_path(obj)`` returns the site-relative path."""
    _places[place] = build_path


def link_for(place: str, obj: Any) -> str:
    """The absolute URL of ``place`` for ``obj``, as the interface that owns it registered."""
    try:
        build_path = _places[place]
    except KeyError:
        raise LookupError(f"no interface registered the place {place!r} (is its app installed?)") from None
    return absolute(build_path(obj))
