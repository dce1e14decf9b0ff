"""Routes of API v1."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import availability, counters, history, programme, views, visit_links, webhooks
from . import scheduling as scheduling_api
from .people_review import PersonMergeView, PersonReviewView
from .root import ApiRootView

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("people", views.PersonViewSet, basename="person")
router.register("topics", views.TopicViewSet, basename="topic")
router.register("venues", views.VenueViewSet, basename="venue")
router.register("rooms", views.RoomViewSet, basename="room")
router.register("delegations", views.DelegationViewSet, basename="delegation")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("events", views.EventViewSet, basename="event")
router.register("absences", availability.AbsenceViewSet, basename="absence")
router.register("room-closures", availability.RoomClosureViewSet, basename="room-closure")
router.register("external-calendars", availability.ExternalCalendarViewSet, basename="external-calendar")
router.register("counter-proposals", counters.CounterProposalViewSet, basename="counter-proposal")
router.register("held-answers", counters.HeldAnswerViewSet, basename="held-answer")
router.register("webhooks", webhooks.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("availability/", availability.AvailabilityView.as_view(), name="availability"),
    path("availability/busy/", availability.BusyView.as_view(), name="availability-busy"),
    path("people/<int:pk>/working-hours/", availability.WorkingHoursView.as_view(), name="person-working-hours"),
    path("visits/<int:pk>/rotate-links/", visit_links.VisitRotateLinksView.as_view(), name="visit-rotate-links"),
    path("visits/<int:pk>/programme.pdf", programme.ProgrammePdfView.as_view(), name="visit-programme-pdf"),
    path("visits/<int:pk>/programme.html", programme.ProgrammeHtmlView.as_view(), name="visit-programme-html"),
    path("visits/<int:pk>/send-programme/", programme.SendProgrammeView.as_view(), name="visit-send-programme"),
    path("meetings/<int:pk>/history/", history.MeetingHistoryView.as_view(), name="meeting-history"),
    path("visits/<int:pk>/history/", history.VisitHistoryView.as_view(), name="visit-history"),
    path("people/<int:pk>/review/", PersonReviewView.as_view(), name="person-review"),
    path("people/<int:pk>/merge/", PersonMergeView.as_view(), name="person-merge"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/rotate-feed-token/", views.MeRotateFeedTokenView.as_view(), name="me-rotate-feed-token"),
    path("visit-requests/", views.VisitRequestCreateView.as_view(), name="visit-request-create"),
    path("visit-requests/<str:token>/", views.VisitRequestDetailView.as_view(), name="visit-request-detail"),
    path("visit-requests/<str:token>/cancel/", views.VisitRequestCancelView.as_view(), name="visit-request-cancel"),
    path("visit-requests/<str:token>/messages/", views.VisitRequestMessageView.as_view(),
         name="visit-request-messages"),
    path("scheduling/solve/", scheduling_api.SolveView.as_view(), name="scheduling-solve"),
    path("scheduling/book/", scheduling_api.BookView.as_view(), name="scheduling-book"),
    path("visits/<int:pk>/proposals/", scheduling_api.VisitProposalsView.as_view(), name="visit-proposals"),
    path("proposals/<int:pk>/", scheduling_api.ProposalView.as_view(), name="proposal-detail"),
    path("proposals/<int:pk>/accept/", scheduling_api.ProposalAcceptView.as_view(), name="proposal-accept"),
    path("proposals/<int:pk>/resolve/", scheduling_api.ProposalResolveView.as_view(), name="proposal-resolve"),
    path("proposals/<int:pk>/repair/", scheduling_api.ProposalRepairView.as_view(), name="proposal-repair"),
    path("proposals/<int:pk>/discard/", scheduling_api.ProposalDiscardView.as_view(), name="proposal-discard"),
    path("proposals/<int:pk>/items/<int:item_id>/", scheduling_api.ProposalItemView.as_view(), name="proposal-item"),
    *router.urls,
]

# GET /api/v1/ lists the routes above.
urlpatterns.insert(0, path("", ApiRootView.as_view(patterns=list(urlpatterns)), name="root"))
