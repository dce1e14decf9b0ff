"""Calendar feeds. Placeholder views until the feeds module lands."""

from django.http import Http404
from django.urls import path

app_name = "calendars"


def _not_yet(request, **kwargs):
    raise Http404


urlpatterns = [
    path("public.ics", _not_yet, name="public-feed"),
    path("people/<str:token>.ics", _not_yet, name="person-feed"),
    path("meetings/<int:pk>.ics", _not_yet, name="meeting-ics"),
]
