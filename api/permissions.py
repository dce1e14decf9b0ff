"""Who may do what through the API.

Three kinds of caller: a **coordinator** (staff, or in the "coordinators" group) may do everything;
a **host** (an account linked to a ``Person``) may read what their meetings reference, answer their
own RSVPs and manage their own calendar token; everyone else reaches only the public endpoints.
What a caller may not see is filtered out of the queryset first, so it answers 404 (existence does
not leak); what they may see but not change answers 403.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

# The one definition of roles (re-exported: the API's views import them from here).
from core.roles import COORDINATOR_GROUP, is_coordinator, person_for_user

__all__ = ["COORDINATOR_GROUP", "caller_person", "is_coordinator", "person_for_user"]


def caller_person(user):
    """The ``Person`` linked to this account, or None (see ``core.roles.person_for_user``)."""
    return person_for_user(user)


class CoordinatorWritesOthersRead(BasePermission):
    """Reads for any authenticated caller (the queryset is already scoped); writes for coordinators.

    On detail routes the decision waits for the object, so an object outside the caller's scope
    answers 404 before the 403 for a forbidden write could reveal that it exists.
    """

    message = "Only coordinators may change this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or getattr(view, "detail", False):
            return True
        return is_coordinator(request.user)

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or is_coordinator(request.user)


class PublicReadCoordinatorWrites(CoordinatorWritesOthersRead):
    """Anyone may read (topics, public events); only coordinators write."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class IsParticipantOrCoordinator(BasePermission):
    """For RSVP: a host answers for themself; a coordinator may answer for anyone."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        return True  # the queryset already limits hosts to their own meetings; the view checks the person
