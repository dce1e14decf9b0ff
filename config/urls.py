"""Top-level routes. Each interface owns its own URL module."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("calendars/", include("events.urls")),
    path("calendars/", include("visits.urls")),
    path("calendars/", include("availability.urls")),
    path("n/", include("notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("web.urls")),
]
