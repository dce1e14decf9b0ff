from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("rsvp/<str:token>/<str:answer>/", views.rsvp, name="rsvp"),
    path("reminders/<str:token>/", views.reminders_opt_out, name="reminders-opt-out"),
    path("itinerary/<str:token>/", views.itinerary, name="itinerary"),
]
