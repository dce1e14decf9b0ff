"""The Celery application. Configuration lives in Django settings under the ``CELERY_`` prefix."""

import logging.config
import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("visitdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
#: Render work on a queue of its own, so a mail backlog never holds calendar fragments back and a
#: bulk import's renders never delay invites; every other task stays on the default ``celery`` queue.
#: Workers consume both (``-Q celery,calendars``: kombu takes from the two in turn) or one each
#: (docker-compose.yml runs a ``worker-calendars`` service); docs/operations.md.
RENDER_QUEUE = "calendars"
app.conf.task_routes = {"calendars.*": {"queue": RENDER_QUEUE}}
app.autodiscover_tasks()
# Each task's log lines carry the request_id of the request that queued it; one line per task ends it.
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def _logging_from_settings(**kwargs):
    """Workers and beat log like the web processes (config/logging.py), not in Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


class VarFolderScheduler(PersistentScheduler):
    """Beat's file-backed scheduler, creating the folder of its schedule file first.

    The file lives under the var folder (``VISITDESK_VAR_DIR``), which only the embedded defaults
    create at start-up; with PostgreSQL and Redis configured nothing else needs the folder, and a
    plain ``celery -A config worker -B`` on a fresh checkout died with FileNotFoundError — and with
    beat gone, invites and reminders were never dispatched.
    """

    def setup_schedule(self):
        if self.schedule_filename:
            Path(self.schedule_filename).expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
        return super().setup_schedule()
