from django.urls import path, re_path

from . import views

app_name = "notifications"

urlpatterns = [
    path("rsvp/<str:token>/<str:answer>/", views.rsvp, name="rsvp"),
    path("reminders/<str:token>/", views.reminders_opt_out, name="reminders-opt-out"),
    path("itinerary/<str:token>/", views.itinerary, name="itinerary"),
    re_path(r"^itinerary/(?P<token>[^/]+)/programme\.html$", views.itinerary_programme, {"fmt": "html"},
            name="itinerary-programme"),
    re_path(r"^itinerary/(?P<token>[^/]+)/programme\.pdf$", views.itinerary_programme, {"fmt": "pdf"},
            name="itinerary-programme-pdf"),
]
