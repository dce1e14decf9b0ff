from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Venues, rooms, meetings with agenda and participants, iCalendar rendering and feeds."""

    name = "events"
    verbose_name = "Events and meetings"

    def ready(self) -> None:
        from . import feeds, signals

        # Feed validators are memoized per schedule generation; a committed change starts a new one.
        signals.schedule_changed.connect(feeds.schedule_generation_bump, dispatch_uid="events.feed_generation")
