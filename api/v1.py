"""Routes of API v1: every resource's viewset, registered here and nowhere else.

One line per viewset; a resource whose routes come from several modules (a visit's workflow, its
programme document and its proposals) registers each viewset under the same prefix and basename.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import Route, SimpleRouter

from . import (
    absences,
    availability,
    counters,
    delegations,
    events,
    external_calendars,
    history,
    me,
    meetings,
    organisations,
    people,
    programme,
    proposals,
    room_closures,
    rooms,
    scheduling,
    topics,
    venues,
    visit_requests,
    visits,
    webhooks,
    working_hours,
)
from .root import ApiRootViewSet


class Router(SimpleRouter):
    """DRF's ``SimpleRouter``, plus three things v1's published URLs need:

    * a viewset's ``collection_name`` names its collection route (``visit-request-create``, ``me``)
      instead of ``<basename>-list``; a ``singleton`` (``me/``, ``availability/``) answers GET on it
      with ``retrieve``;
    * an action whose ``url_path`` names a file (``programme\\.pdf``) gets no trailing slash;
    * one basename may be shared by viewsets of one prefix; every route name must still be unique.
    """

    def is_already_registered(self, new_basename: str) -> bool:
        return False  # names are checked route by route in get_urls

    def get_routes(self, viewset: Any) -> list[Route]:
        routes: list[Route] = []
        singleton = getattr(viewset, "singleton", False)
        for route in super().get_routes(viewset):
            if singleton and route.name == "{basename}-detail":
                continue  # a singleton has no ids
            if route.name == "{basename}-list":
                if getattr(viewset, "collection_name", None):
                    route = route._replace(name=viewset.collection_name)
                if singleton:
                    route = route._replace(mapping={"get": "retrieve", "put": "update", "post": "create"})
            elif "\\." in route.url:
                route = route._replace(url=route.url.replace("{trailing_slash}", ""))
            routes.append(route)
        return routes

    def get_urls(self) -> list[URLPattern | URLResolver]:
        urls: list[URLPattern | URLResolver] = super().get_urls()
        names = [getattr(u, "name", None) for u in urls]
        duplicates = sorted({n for n in names if n and names.count(n) > 1})
        if duplicates:
            raise ImproperlyConfigured(f"Route names registered twice: {', '.join(duplicates)}")
        return urls


router = Router()
router.register("organisations", organisations.OrganisationViewSet, basename="organisation")
router.register("people", people.PersonViewSet, basename="person")
router.register("people", working_hours.WorkingHoursViewSet, basename="person")
router.register("topics", topics.TopicViewSet, basename="topic")
router.register("venues", venues.VenueViewSet, basename="venue")
router.register("rooms", rooms.RoomViewSet, basename="room")
router.register("delegations", delegations.DelegationViewSet, basename="delegation")
router.register("visits", visits.VisitViewSet, basename="visit")
router.register("visits", programme.VisitProgrammeViewSet, basename="visit")
router.register("visits", proposals.VisitProposalsViewSet, basename="visit")
router.register("meetings", meetings.MeetingViewSet, basename="meeting")
router.register("events", events.EventViewSet, basename="event")
router.register("availability", availability.AvailabilityViewSet, basename="availability")
router.register("absences", absences.AbsenceViewSet, basename="absence")
router.register("room-closures", room_closures.RoomClosureViewSet, basename="room-closure")
router.register("external-calendars", external_calendars.ExternalCalendarViewSet, basename="external-calendar")
router.register("counter-proposals", counters.CounterProposalViewSet, basename="counter-proposal")
router.register("held-answers", counters.HeldAnswerViewSet, basename="held-answer")
router.register("me", me.MeViewSet, basename="me")
router.register("visit-requests", visit_requests.VisitRequestViewSet, basename="visit-request")
router.register("scheduling", scheduling.SchedulingViewSet, basename="scheduling")
router.register("proposals", proposals.ProposalViewSet, basename="proposal")
router.register("webhooks", webhooks.WebhookEndpointViewSet, basename="webhook")
router.register("meetings", history.MeetingHistoryViewSet, basename="meeting")
router.register("visits", history.VisitHistoryViewSet, basename="visit")

urlpatterns: list[URLPattern | URLResolver] = list(router.urls)

# GET /api/v1/ lists the routes above.
urlpatterns.insert(0, path("", ApiRootViewSet.as_view({"get": "list"}, patterns=list(urlpatterns)), name="root"))
