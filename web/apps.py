from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages: home, request a visit, status page, staff views."""

    name = "web"
    verbose_name = "Web pages"
