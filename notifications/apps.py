from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The outbox: invites, updates, cancellations, reminders and workflow mails."""

    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from events.signals import schedule_changed
        from visits.signals import visit_changed

        from . import receivers

        schedule_changed.connect(receivers.on_schedule_changed, dispatch_uid="notifications.schedule_changed")
        visit_changed.connect(receivers.on_visit_changed, dispatch_uid="notifications.visit_changed")
