"""Visitdesk settings: one module, every value read from the environment.

With no environment at all the project runs on embedded defaults (SQLite file, kombu's filesystem
broker, mails written as .eml files) so ``make run`` works on a fresh clone. Production sets
``DJANGO_DEBUG=0``, ``DJANGO_SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL``;
see docs/configuration.md.
"""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import development_mode, email_settings_from_url, env_bool, env_list, env_str, web_timeout_seconds
from .logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VISITDESK_VAR_DIR", str(BASE_DIR / "var")))

# DJANGO_DEBUG when set; unset, on only while SITE_URL / DJANGO_ALLOWED_HOSTS name just this machine
# (the embedded-defaults development set-up). See config.env.development_mode.
DEBUG = development_mode()
TESTING = env_bool("VISITDESK_TESTING", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789"
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (it is off when DJANGO_DEBUG=0, or when "
            "SITE_URL / DJANGO_ALLOWED_HOSTS name a public host)"
        )

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_DOMAIN = urlparse(SITE_URL).hostname or "localhost"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", SITE_DOMAIN, "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Change history (PostgreSQL triggers; history/), metrics (/metrics) and structured logs.
    "pgtrigger",
    "pghistory",
    "django_prometheus",
    "django_structlog",
    # Domain apps, lowest first: each may import only the ones above it in this list.
    "core",
    "directory",
    "events",
    "availability",
    "visits",
    "calendars",
    "scheduling",
    "notifications",
    "webhooks",
    # Who changed what: event tables of the apps above, filled by PostgreSQL triggers.
    "history",
    # Interfaces: depend on the domain apps, nothing depends on them.
    "api",
    "web",
]

MIDDLEWARE = [
    # Counts and times every request, also those the middleware below answers (django-prometheus).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.health.HealthCheckMiddleware",
    # /metrics for the scraper holding VISITDESK_METRICS_TOKEN (before host validation, like /healthz).
    "config.metrics.MetricsMiddleware",
    # A request id for every log line of the request and of the tasks it queues (django-structlog);
    # one line per request when it ends.
    "django_structlog.middlewares.RequestMiddleware",
    "config.middleware.BadInputMiddleware",
    "config.middleware.DatabaseStallMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who made the changes of this request, for the change history (PostgreSQL only; history/).
    "history.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.SecretLinkNoStoreMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's development server runs each request in a new thread; a persistent connection per thread
# is never reused and never closed, so under runserver connections are closed after each request.
RUNSERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'visitdesk.sqlite3'}"),
        conn_max_age=0 if RUNSERVER else int(env_str("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Concurrent web + worker + beat processes on one SQLite file need WAL and a busy timeout.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Time a web request may take (docs/operations.md, "Timeouts and limits") ------------------------
# gunicorn kills a worker after VISITDESK_WEB_TIMEOUT seconds (config/gunicorn.conf.py reads the same
# variable); every limit below keeps a request well inside it, so it answers instead of being killed.
VISITDESK_WEB_TIMEOUT = web_timeout_seconds()  # env_str("VISITDESK_WEB_TIMEOUT") in config/env.py
# PostgreSQL timeouts of web requests (config/database.py); the worker and manage.py set none.
VISITDESK_DB_STATEMENT_TIMEOUT = float(env_str("VISITDESK_DB_STATEMENT_TIMEOUT", "15"))
VISITDESK_DB_LOCK_TIMEOUT = float(env_str("VISITDESK_DB_LOCK_TIMEOUT", "5"))
# The most a caller may give the solver (``time_limit_seconds`` of solve, proposals, re-solve, repair).
VISITDESK_SOLVE_MAX_SECONDS = float(env_str("VISITDESK_SOLVE_MAX_SECONDS", "20"))
# A solve still running this long after the request reached it is stopped and answered 503 (the
# solver's model building and first-fit pass are not yet bounded by its limit; see api/deadline.py).
VISITDESK_SOLVE_GUARD_SECONDS = VISITDESK_WEB_TIMEOUT - 10
for _name, _value in (("VISITDESK_DB_STATEMENT_TIMEOUT", VISITDESK_DB_STATEMENT_TIMEOUT),
                      ("VISITDESK_DB_LOCK_TIMEOUT", VISITDESK_DB_LOCK_TIMEOUT)):
    if not 0 < _value < VISITDESK_WEB_TIMEOUT:
        raise ImproperlyConfigured(f"{_name} must be above 0 and below VISITDESK_WEB_TIMEOUT ({VISITDESK_WEB_TIMEOUT} s)")
if not 0 < VISITDESK_SOLVE_MAX_SECONDS <= VISITDESK_SOLVE_GUARD_SECONDS / 2:
    raise ImproperlyConfigured("VISITDESK_SOLVE_MAX_SECONDS must be at most half of VISITDESK_WEB_TIMEOUT - 10 s "
                               "(model building and answering need time beyond the solver's own limit)")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:staff-home"
LOGOUT_REDIRECT_URL = "web:home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        # hashed and compressed; the planner's ES module imports rewritten to the hashed names
        else "config.staticfiles.StaticFilesStorage"
    },
}

# --- Redis: broker, cache (throttling, rendered calendar fragments) ---------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # Resilient: while Redis is down the cache misses instead of raising (config/cache.py); short
    # timeouts so an unreachable Redis costs a request seconds, not minutes.
    CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5}}}
    if TESTING:
        # Each test process gets its own key space, so throttle counters never leak between runs.
        CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}-{int(time.time())}"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Django's default (300 files) culls a random third of the folder, throttle counters
            # included: rate limits then forget clients at random (and throttle tests flaked).
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# --- Celery -----------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {"visibility_timeout": 3600}
    # kombu's Redis transport, minus the worker crash when Redis goes away mid-task (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
else:
    # kombu's filesystem transport: a broker that needs no server, for the zero-set-up dev run.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only after it ran, and re-queued if the worker process dies mid-way:
# the dispatcher is idempotent (outbox rows are claimed, not tasks), so re-delivery is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage must never end the worker: reconnect for as long as it takes (the default gives
# up after 100 attempts, ~45 min), and let a running dispatch finish on connection loss instead
# of cancelling it (its rows would sit in "sending" until the sweeper). docs/operations.md.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "dispatch-outbox": {"task": "notifications.dispatch_due", "schedule": timedelta(seconds=60)},
    "recover-stuck-sending": {"task": "notifications.recover_stuck", "schedule": timedelta(minutes=5)},
    "complete-past-visits": {"task": "visits.complete_past_visits", "schedule": crontab(minute=17)},
    "sync-external-calendars": {"task": "availability.sync_due_calendars", "schedule": timedelta(minutes=5)},
    # Render on write has a safety net: fragments a lost message or a bulk import left stale.
    "render-stale-calendar-fragments": {"task": "calendars.render_stale", "schedule": timedelta(minutes=10)},
    # Webhooks: retries that came due, a sweep for changes whose signal was lost, stuck deliveries.
    "dispatch-webhooks": {"task": "webhooks.dispatch_due", "schedule": timedelta(seconds=60)},
    # Calendar clients' answers to invites (does nothing while VISITDESK_ORGANIZER_IMAP_URL is unset).
    "read-organizer-mailbox": {
        "task": "notifications.read_organizer_mailbox",
        "schedule": timedelta(seconds=int(env_str("VISITDESK_ORGANIZER_IMAP_POLL_SECONDS", "60"))),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The file-backed scheduler that creates VAR_DIR when beat starts (it may not exist yet).
CELERY_BEAT_SCHEDULER = "config.celery:VarFolderScheduler"

# --- Mail -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Visitdesk <visits@{SITE_DOMAIN}>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# The ORGANIZER of invites: an address people can reply to, never a no-reply.
VISITDESK_ORGANIZER_EMAIL = env_str("VISITDESK_ORGANIZER_EMAIL", f"visits@{SITE_DOMAIN}")
VISITDESK_ORGANIZER_NAME = env_str("VISITDESK_ORGANIZER_NAME", "Visitdesk")
# The mailto: of reminders' List-Unsubscribe (RFC 8058); the https one-click URL works without it.
VISITDESK_UNSUBSCRIBE_MAILTO = env_str("VISITDESK_UNSUBSCRIBE_MAILTO", VISITDESK_ORGANIZER_EMAIL)
EMAIL_TIMEOUT = int(env_str("EMAIL_TIMEOUT", "20"))
# The organiser mailbox (notifications.mailbox): where calendar clients' REPLY and COUNTER mails to
# VISITDESK_ORGANIZER_EMAIL arrive. imaps://user:password@host:993/INBOX (TLS), or imap://… (STARTTLS;
# ?tls=none only for a server on this machine). Unset: nothing is read (docs/operations.md).
VISITDESK_ORGANIZER_IMAP_URL = env_str("VISITDESK_ORGANIZER_IMAP_URL")
# Folders the reader moves messages into (created when missing): taken answers, and mail a person must see.
VISITDESK_ORGANIZER_IMAP_PROCESSED = env_str("VISITDESK_ORGANIZER_IMAP_PROCESSED", "Visitdesk/Processed")
VISITDESK_ORGANIZER_IMAP_REVIEW = env_str("VISITDESK_ORGANIZER_IMAP_REVIEW", "Visitdesk/Needs a person")
# Mail that is no calendar answer: "leave" it unread in the inbox, or "forward" it to the coordinators.
VISITDESK_ORGANIZER_OTHER_MAIL = env_str("VISITDESK_ORGANIZER_OTHER_MAIL", "leave")
# How often beat reads the mailbox, in seconds.
VISITDESK_ORGANIZER_IMAP_POLL_SECONDS = int(env_str("VISITDESK_ORGANIZER_IMAP_POLL_SECONDS", "60"))
_email_url = env_str("EMAIL_URL")
if _email_url:
    globals().update(email_settings_from_url(_email_url))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = "notifications.mailfiles.EmlFileBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- REST API ---------------------------------------------------------------------------------
# One rate table for the API (DRF throttles), the pages and the calendar feeds (core.throttle).
VISITDESK_THROTTLE_RATES = {
    "visit_request": env_str("VISITDESK_THROTTLE_VISIT_REQUEST", "20/hour"),
    "public": env_str("VISITDESK_THROTTLE_PUBLIC", "120/minute"),
    "status": env_str("VISITDESK_THROTTLE_STATUS", "60/minute"),
    "feed": env_str("VISITDESK_THROTTLE_FEED", "120/minute"),
    # Password guesses on /staff/login/ and /admin/login/, per client address.
    "login": env_str("VISITDESK_THROTTLE_LOGIN", "10/minute"),
    # Adding a calendar and "sync now" (each queues a fetch), per user: API and page alike.
    "calendar_sync": env_str("VISITDESK_THROTTLE_CALENDAR_SYNC", "10/hour"),
    # Registering or changing a webhook endpoint, a test event, a new secret: per user (coordinators).
    "webhooks": env_str("VISITDESK_THROTTLE_WEBHOOKS", "60/hour"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Client address for throttles: REMOTE_ADDR unless told how many trusted proxies sit in front
    # (an unset value would trust a client-supplied X-Forwarded-For and let it dodge throttles).
    "NUM_PROXIES": int(env_str("VISITDESK_NUM_PROXIES", "0")),
    "DEFAULT_THROTTLE_RATES": VISITDESK_THROTTLE_RATES,
    "EXCEPTION_HANDLER": "api.base.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Visitdesk API",
    "DESCRIPTION": "Delegation visits, meetings, calendars and reminders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI assets served from this site, not a third-party CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "directory.models.Organisation.Kind",
        "MeetingKindEnum": "events.models.Meeting.Kind",
        "EventKindEnum": "events.models.Event.Kind",
        "MessageKindEnum": "visits.models.VisitMessage.Kind",
        "VisitStatusEnum": "visits.models.Visit.Status",
        "MeetingStatusEnum": "events.models.Meeting.Status",
        "VisitLinkEnum": "api.visits.LINKS",  # the rotate-links input and its answer share one name
        "ProposalStatusEnum": "scheduling.models.Proposal.Status",
        "WebhookEventTypeEnum": "webhooks.models.EventType",
    },
}

# Acknowledgement mails per recipient address (the public form accepts any address; see notifications).
VISITDESK_THROTTLE_ACK_ADDRESS = env_str("VISITDESK_THROTTLE_ACK_ADDRESS", "3/day")

# --- Product rules ----------------------------------------------------------------------------
VISITDESK_DEFAULT_TIMEZONE = env_str("VISITDESK_DEFAULT_TIMEZONE", "Europe/Berlin")
# Reminder offsets (minutes before the start). Delegation members: before the visit; hosts: before each meeting.
VISITDESK_REMINDERS_DELEGATION = [int(x) for x in env_list("VISITDESK_REMINDERS_DELEGATION", ["10080", "1440"])]
VISITDESK_REMINDERS_HOST = [int(x) for x in env_list("VISITDESK_REMINDERS_HOST", ["1440", "60"])]
# Invites/updates wait this long so several quick edits reach participants as one update.
VISITDESK_NOTIFY_SETTLE_SECONDS = int(env_str("VISITDESK_NOTIFY_SETTLE_SECONDS", "60"))
# Answers to invitations reach the coordinator as one summary per window: the first answer opens it, the
# mail goes when it closes (notifications.answers).
VISITDESK_ANSWER_DIGEST_SECONDS = int(env_str("VISITDESK_ANSWER_DIGEST_SECONDS", "600"))
# Reminders marked sent per UPDATE: 1 = at most one duplicate per crashed worker (docs/performance.md).
VISITDESK_OUTBOX_MARK_EVERY = int(env_str("VISITDESK_OUTBOX_MARK_EVERY", "1"))
VISITDESK_CANCELLED_IN_FEEDS_DAYS = int(env_str("VISITDESK_CANCELLED_IN_FEEDS_DAYS", "30"))
# A feed read renders at most this many stale VEVENT fragments itself; with more it answers 503 +
# Retry-After and leaves them to the worker (calendars.fragments).
VISITDESK_FEED_RENDER_ON_READ = int(env_str("VISITDESK_FEED_RENDER_ON_READ", "500"))
# Signed webhooks (webhooks app): seconds one delivery may take (connect to last byte), and how long an
# endpoint may fail without a single success before it is disabled. Their addresses pass the same
# check as calendar imports (VISITDESK_BUSY_FETCH_ALLOW_PRIVATE below lifts it for tests only).
VISITDESK_WEBHOOK_TIMEOUT = float(env_str("VISITDESK_WEBHOOK_TIMEOUT", "10"))
VISITDESK_WEBHOOK_DISABLE_AFTER_HOURS = float(env_str("VISITDESK_WEBHOOK_DISABLE_AFTER_HOURS", "24"))
# Busy times imported from people's own calendars (availability app).
VISITDESK_BUSY_FETCH_ALLOW_PRIVATE = env_bool("VISITDESK_BUSY_FETCH_ALLOW_PRIVATE", False)
# One wall-clock deadline for a whole fetch (connect, TLS, headers, body, redirects), in seconds.
VISITDESK_BUSY_FETCH_TIMEOUT = float(env_str("VISITDESK_BUSY_FETCH_TIMEOUT", "15"))
VISITDESK_BUSY_FETCH_MAX_BYTES = int(env_str("VISITDESK_BUSY_FETCH_MAX_BYTES", str(10 * 1024 * 1024)))
VISITDESK_BUSY_HORIZON_DAYS = int(env_str("VISITDESK_BUSY_HORIZON_DAYS", "180"))
# Each calendar is fetched by the worker every half hour: a cap per person (API, page and admin).
VISITDESK_BUSY_CALENDARS_PER_PERSON = int(env_str("VISITDESK_BUSY_CALENDARS_PER_PERSON", "5"))
# Occurrences one import may expand (any rule's dates, before or in the horizon, busy or free); past
# it the feed is refused. The parse runs in a child process with these hard limits (ics_sandbox).
VISITDESK_BUSY_MAX_OCCURRENCES = int(env_str("VISITDESK_BUSY_MAX_OCCURRENCES", "50000"))
VISITDESK_BUSY_IMPORT_CPU_SECONDS = int(env_str("VISITDESK_BUSY_IMPORT_CPU_SECONDS", "10"))
VISITDESK_BUSY_IMPORT_MEMORY_MB = int(env_str("VISITDESK_BUSY_IMPORT_MEMORY_MB", "256"))
# The rules of a visit's programme (visits.rules; proposals keep them, the planner and pages report them).
VISITDESK_LUNCH_WINDOW = env_str("VISITDESK_LUNCH_WINDOW", "11:30-14:00")
VISITDESK_BREAK_AFTER_MINUTES = int(env_str("VISITDESK_BREAK_AFTER_MINUTES", "150"))
VISITDESK_BREAK_MINUTES = int(env_str("VISITDESK_BREAK_MINUTES", "15"))
VISITDESK_WALKING_GAP_MINUTES = int(env_str("VISITDESK_WALKING_GAP_MINUTES", "10"))
VISITDESK_MERGE_TOPICS_MINUTES = int(env_str("VISITDESK_MERGE_TOPICS_MINUTES", "120"))
_lunch = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", VISITDESK_LUNCH_WINDOW)
if not _lunch or (int(_lunch[1]), int(_lunch[2])) >= (int(_lunch[3]), int(_lunch[4])) or int(_lunch[3]) > 23 \
        or int(_lunch[2]) > 59 or int(_lunch[4]) > 59:
    raise ImproperlyConfigured("VISITDESK_LUNCH_WINDOW must look like 11:30-14:00 (start before end)")
if VISITDESK_BREAK_AFTER_MINUTES < 30 or not 5 <= VISITDESK_BREAK_MINUTES <= 120:
    raise ImproperlyConfigured("VISITDESK_BREAK_AFTER_MINUTES must be at least 30, VISITDESK_BREAK_MINUTES 5 to 120")
if not 0 <= VISITDESK_WALKING_GAP_MINUTES <= 120 or not 0 <= VISITDESK_MERGE_TOPICS_MINUTES <= 480:
    raise ImproperlyConfigured("VISITDESK_WALKING_GAP_MINUTES must be 0 to 120, VISITDESK_MERGE_TOPICS_MINUTES 0 to 480")

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_str("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp) on every response: scripts, styles and everything else only
# from this site, never inline — the pages carry no inline script, no style="…" and no on*=
# handlers (positions are set from static JS through the CSSOM); data: images for the Swagger UI.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Change history (history/, docs/operations.md "Change history") ----------------------------
# pghistory's triggers are installed by ``migrate`` (post-migrate), not by migrations of the tracked
# apps: the domain apps' migrations stay free of the history app. SQLite gets no triggers.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
PGHISTORY_INSTALL_CONTEXT_FUNC_ON_MIGRATE = True
# Only requests that change things carry a history context: feeds and lists (GET) are the hot paths
# and change nothing a person did, so their statements are not wrapped.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# --- Metrics (/metrics, docs/operations.md "Metrics") --------------------------------------------
# Prometheus scrapes /metrics with "Authorization: Bearer <token>"; unset, /metrics answers 404.
VISITDESK_METRICS_TOKEN = env_str("VISITDESK_METRICS_TOKEN")
# django-prometheus would query every database for unapplied migrations when a process starts.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Logs (config/logging.py, docs/configuration.md "Logs") ---------------------------------------
# "console": coloured, aligned lines for a person (the default in development mode, so `make run`
# stays readable); "json": one JSON object per line for a log collector (the default otherwise).
VISITDESK_LOG_FORMAT = env_str("VISITDESK_LOG_FORMAT", "console" if DEBUG else "json")
if VISITDESK_LOG_FORMAT not in ("console", "json"):
    raise ImproperlyConfigured("VISITDESK_LOG_FORMAT must be console or json")
# One line per request (request_finished) and per task (task_succeeded / task_failed); the start lines
# (request_started, task_enqueued, task_started) are DEBUG.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10
DJANGO_STRUCTLOG_CELERY_TASK_START_LOG_LEVEL = 10
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = True
LOGGING = logging_config(VISITDESK_LOG_FORMAT, env_str("DJANGO_LOG_LEVEL", "INFO"))
