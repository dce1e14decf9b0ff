"""Top-level routes. Each interface owns its own URL module."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path


def healthz(request):
    """Liveness for load balancers and docker-compose health checks: no database hit."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("calendars/", include("events.urls")),
    path("calendars/", include("visits.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("web.urls")),
]
