from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendar files: renderer, fragment store, feeds and their links."""

    name = "calendars"
    verbose_name = "Calendars"

    def ready(self) -> None:
        from core.links import link_register
        from events.signals import schedule_changed

        from . import feeds, links, receivers

        # Feed validators are memoized per schedule generation; a committed change starts a new one.
        schedule_changed.connect(feeds.schedule_generation_bump, dispatch_uid="calendars.feed_generation")
        # Render on write: a committed change queues its meetings' fragments for the worker.
        schedule_changed.connect(receivers.on_schedule_changed, dispatch_uid="calendars.render_on_write")
        # The visit admin (in ``visits``, below us) links the programme feed without importing calendars.
        link_register("visit-feed", lambda visit: links.visit_feed_path(visit))
