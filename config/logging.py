"""Log lines as structlog renders them: JSON for production, readable console lines for development.

Everything goes through one stdlib handler whose formatter is structlog's ``ProcessorFormatter``, so
lines from Django, Celery, gunicorn's error log and third-party libraries look like the project's own
and carry the same context: django-structlog binds ``request_id`` (and ``user_id``, ``ip``) for a
request, and in a Celery task the ``task_id`` plus the ``request_id`` of the request that queued it.

``logging_config`` is the ``LOGGING`` dict of the settings; ``configure_structlog`` runs when the
settings are loaded (web, worker, beat and manage.py alike).
"""

from __future__ import annotations

from typing import Any

import structlog

#: Processors applied to every line, structlog's and stdlib's alike (before rendering).
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    configure_structlog()
    renderer: Any = (structlog.processors.JSONRenderer() if log_format == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        final.append(structlog.processors.format_exc_info)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [*final, renderer],
                "foreign_pre_chain": SHARED_PROCESSORS,
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # WeasyPrint logs every layout step of every programme PDF at INFO; its warnings still show.
            "weasyprint.progress": {"level": "WARNING"},
            # django-structlog's request_finished line says the same as the development server's.
            "django.server": {"level": "WARNING"},
        },
    }
