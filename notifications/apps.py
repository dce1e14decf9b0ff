from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The outbox: invites, updates, cancellations, reminders and workflow mails."""

    name = "notifications"
    verbose_name = "Notifications"
