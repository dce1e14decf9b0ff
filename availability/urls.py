"""Free/busy out, next to the person's meeting feed under ``/calendars/``."""

from django.urls import path

from . import freebusy

app_name = "availability"

urlpatterns = [
    path("people/<str:token>/freebusy.ics", freebusy.person_freebusy_feed, name="person-freebusy"),
]
