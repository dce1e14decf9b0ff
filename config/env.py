"""Reading configuration from the environment, with safe defaults for a zero-set-up dev run.

Kept apart from ``settings.py`` so the parsing rules (booleans, lists, mail URLs) are tested alone.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlparse

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in TRUE_WORDS


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


#: Seconds gunicorn lets a worker spend on one request before it kills it (``config/gunicorn.conf.py``).
#: Everything a request may wait for (solver limits, database statement and lock timeouts) is set
#: below it in settings, so a request answers — if need be with a 503 — before the server kills it.
WEB_TIMEOUT_DEFAULT = 60


def web_timeout_seconds() -> int:
    """``VISITDESK_WEB_TIMEOUT``: read by the gunicorn configuration and by the settings alike."""
    return int(env_str("VISITDESK_WEB_TIMEOUT", str(WEB_TIMEOUT_DEFAULT)))


#: Host names that only this machine can reach: a site served under them is a development set-up.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]", "testserver"})


def development_mode(environ=None) -> bool:
    """Whether ``DEBUG`` is on: ``DJANGO_DEBUG`` when set, otherwise "is this site local-only?".

    An explicit ``DJANGO_DEBUG`` always wins (``0`` = production). Left unset, the embedded-defaults
    set-up is recognised by what a deployment cannot do without: a public name. While ``SITE_URL``
    and ``DJANGO_ALLOWED_HOSTS`` name only this machine, nobody else can reach the site, so the
    development defaults apply (debug pages, the insecure dev key, demo users) — in a fresh shell
    exactly as under ``make run``. As soon as either names a real host, debug is off and a missing
    ``DJANGO_SECRET_KEY`` stops the start.
    """
    environ = os.environ if environ is None else environ
    raw = (environ.get("DJANGO_DEBUG") or "").strip()
    if raw:
        return raw.lower() in TRUE_WORDS
    site_host = urlparse((environ.get("SITE_URL") or "").strip() or "http://127.0.0.1:8000").hostname or ""
    allowed = [h.strip() for h in (environ.get("DJANGO_ALLOWED_HOSTS") or "").split(",") if h.strip()]
    return site_host in LOOPBACK_HOSTS and all(host in LOOPBACK_HOSTS for host in allowed)


def email_settings_from_url(url: str) -> dict:
    """Turn ``smtp://user:pass@host:port?tls=1`` (or ``smtps://`` for implicit TLS) into settings.

    Also understands ``console://`` and ``file:///path``; anything else is refused loudly
    because a silently wrong mail setting means reminders that never arrive.
    """
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    if parsed.scheme in {"smtp", "smtps", "submission"}:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parsed.hostname or "localhost",
            "EMAIL_PORT": parsed.port or (465 if parsed.scheme == "smtps" else 587 if parsed.scheme == "submission" else 25),
            "EMAIL_HOST_USER": unquote(parsed.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
            "EMAIL_USE_SSL": parsed.scheme == "smtps",
            "EMAIL_USE_TLS": parsed.scheme == "submission" or query.get("tls", "").lower() in TRUE_WORDS,
        }
    if parsed.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parsed.scheme == "file":
        return {
            "EMAIL_BACKEND": "notifications.mailfiles.EmlFileBackend",
            "EMAIL_FILE_PATH": unquote(parsed.path),
        }
    raise ValueError(f"EMAIL_URL scheme {parsed.scheme!r} is not supported (use smtp, smtps, submission, file, console)")
