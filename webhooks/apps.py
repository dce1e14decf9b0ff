from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks: coordinators' endpoints, the events they receive, the delivery outbox and its log."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from events.signals import schedule_changed
        from visits.signals import visit_changed

        from . import receivers

        schedule_changed.connect(receivers.on_schedule_changed, dispatch_uid="webhooks.schedule_changed")
        visit_changed.connect(receivers.on_visit_changed, dispatch_uid="webhooks.visit_changed")
