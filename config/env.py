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
