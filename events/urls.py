"""Calendar feeds: public events, each person's meetings, and one meeting's .ics."""

from django.urls import path

from . import feeds

app_name = "calendars"

urlpatterns = [
    path("public.ics", feeds.public_feed, name="public-feed"),
    path("people/<str:token>.ics", feeds.person_feed, name="person-feed"),
    path("meetings/<int:pk>.ics", feeds.meeting_ics, name="meeting-ics"),
    path("meetings/<int:pk>/<str:token>.ics", feeds.meeting_ics_signed, name="meeting-ics-signed"),
]
