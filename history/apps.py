from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "history"
    verbose_name = "Change history"

    def ready(self) -> None:
        from . import context

        context.connect_task_signals()
