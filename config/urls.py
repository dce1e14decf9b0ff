"""Top-level routes. Each interface owns its own URL module."""

from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from web.throttle import throttled


def favicon(request):
    """Browsers ask for /favicon.ico on every page that names no icon (the admin, .ics downloads)."""
    return HttpResponsePermanentRedirect(static("web/favicon.svg"))


# The admin's sign-in counts password guesses per client like /staff/login/ (one "login" budget).
admin_login = throttled("login", methods=("POST",))(admin.site.login)

urlpatterns = [
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("calendars/", include("calendars.urls")),
    path("n/", include("notifications.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("favicon.ico", favicon),
    path("", include("web.urls")),
]
