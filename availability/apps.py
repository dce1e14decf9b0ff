from django.apps import AppConfig


class AvailabilityConfig(AppConfig):
    """Working hours, absences, room closures, busy times imported from people's calendars, free slots."""

    name = "availability"
    verbose_name = "Availability"
