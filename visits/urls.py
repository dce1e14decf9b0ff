"""The visit programme feed. Placeholder view until the feeds module lands."""

from django.http import Http404
from django.urls import path

app_name = "visit-calendars"


def _not_yet(request, **kwargs):
    raise Http404


urlpatterns = [
    path("visits/<str:token>.ics", _not_yet, name="visit-feed"),
]
