"""Every calendar file under /calendars/: public, person, visit and single-meeting feeds, free/busy."""

from django.urls import path

from . import feeds, freebusy, visit_feeds

app_name = "calendars"

urlpatterns = [
    path("public.ics", feeds.public_feed, name="public-feed"),
    path("people/<str:token>.ics", feeds.person_feed, name="person-feed"),
    path("people/<str:token>/freebusy.ics", freebusy.person_freebusy_feed, name="person-freebusy"),
    path("meetings/<int:pk>.ics", feeds.meeting_ics, name="meeting-ics"),
    path("meetings/<int:pk>/<str:token>.ics", feeds.meeting_ics_signed, name="meeting-ics-signed"),
    path("visits/<str:token>.ics", visit_feeds.visit_feed, name="visit-feed"),
    path("visits/<str:token>/meetings/<int:pk>.ics", visit_feeds.visit_meeting, name="visit-meeting"),
]
