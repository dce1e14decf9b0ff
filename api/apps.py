from django.apps import AppConfig


class ApiConfig(AppConfig):
    """REST API v1: an interface over the domain services; nothing imports it."""

    name = "api"
    verbose_name = "API"
