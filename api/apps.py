from django.apps import AppConfig


class ApiConfig(AppConfig):
    """REST API v1: an interface over the domain services; nothing imports it."""

    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from core.auth import authenticator_register

        from .auth import token_user

        # The single-meeting .ics download accepts the API token like the API does.
        authenticator_register(token_user)
