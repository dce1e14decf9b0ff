from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Delegations and their visits: the booking workflow from request to completed visit."""

    name = "visits"
    verbose_name = "Visits"
