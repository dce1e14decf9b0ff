from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    """Calendar files: the fragment store and its writers (worker, command, bounded read fallback)."""

    name = "calendars"
    verbose_name = "Calendars"

    def ready(self) -> None:
        from events.signals import schedule_changed

        from . import receivers

        # Render on write: a committed change queues its meetings' fragments for the worker.
        schedule_changed.connect(receivers.on_schedule_changed, dispatch_uid="calendars.render_on_write")
