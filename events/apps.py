from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Venues, rooms, meetings with agenda and participants, iCalendar rendering and feeds."""

    name = "events"
    verbose_name = "Events and meetings"
