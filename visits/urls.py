"""The visit programme feed, mounted under /calendars/ next to the events feeds."""

from django.urls import path

from . import feeds

app_name = "visit-calendars"

urlpatterns = [
    path("visits/<str:token>.ics", feeds.visit_feed, name="visit-feed"),
    path("visits/<str:token>/meetings/<int:pk>.ics", feeds.visit_meeting, name="visit-meeting"),
]
