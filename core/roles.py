"""Who is who — the one definition every interface, feed and mail uses.

- **coordinator**: an active account that is staff, superuser, or a member of the group
  ``coordinators``. Coordinators see every visit, decide on requests, build programmes and receive
  the "new request" mails. (Staff status additionally opens ``/admin/``; the group alone does not —
  see :func:`can_use_admin`.)
- **host**: an active account linked to a ``Person`` (``person_for_user``); sees the meetings that
  person takes part in, answers their own RSVPs.
- everyone else (anonymous, inactive, unlinked non-coordinator accounts) reaches public things only.

``core`` sits below every domain app, so this module names no model: it works through the user
model's fields and the ``person`` reverse relation that ``directory.Person.user`` declares.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

COORDINATOR_GROUP = "coordinators"
_CACHE_ATTR = "_visitdesk_is_coordinator"


def is_coordinator(user: Any) -> bool:
    """True for an active staff user, superuser or member of the "coordinators" group.

    The group lookup is cached on the user object (one query per request at most).
    """
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = user.groups.filter(name=COORDINATOR_GROUP).exists()
        setattr(user, _CACHE_ATTR, cached)
    return bool(cached)


def can_use_admin(user: Any) -> bool:
    """Whether links into ``/admin/`` make sense for this user (Django's admin requires ``is_staff``)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)


def person_for_user(user: Any) -> Any:
    """The ``directory.Person`` linked to this account, or None (anonymous, inactive or unlinked).

    Typed ``Any``: ``core`` sits below ``directory`` and cannot name its models. ``user`` is any
    request user (Django's, DRF's, anonymous or None).
    """
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    try:
        return user.person
    except (ObjectDoesNotExist, AttributeError):
        return None


def coordinator_user_q(prefix: str = "") -> Q:
    """A filter for coordinator accounts; ``prefix`` reaches them from another model (``"user__"``)."""
    return Q(**{f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}is_staff": True})
        | Q(**{f"{prefix}is_superuser": True})
        | Q(**{f"{prefix}groups__name": COORDINATOR_GROUP})
    )


def coordinator_users() -> QuerySet[Any]:
    """Every coordinator account (distinct: a staff member may also be in the group)."""
    return get_user_model().objects.filter(coordinator_user_q()).distinct()
