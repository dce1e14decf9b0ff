from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Venues, rooms, meetings with agenda and participants; the overlap rules every meeting write checks."""

    name = "events"
    verbose_name = "Events and meetings"
