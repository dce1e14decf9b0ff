"""Delivery channels. One small class per channel, raising one error type with a ``permanent`` flag.

``MailTransport`` keeps one connection of the configured Django mail backend open for a whole batch:
opening an SMTP session per message (the backend's default) costs a TCP and EHLO round trip each
time and dominates the dispatcher's throughput.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def classify_smtp_error(exc: Exception) -> TransportError:
    """4xx replies and network trouble are worth retrying; 5xx replies are not."""
    code = None
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
    if code is not None:
        return TransportError(f"SMTP {code}: {exc}", permanent=500 <= code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # e.g. an internationalised address to a server without SMTPUTF8: retrying cannot help.
        return TransportError(f"SMTP: {exc!r}", permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | TimeoutError | OSError):
        return TransportError(f"connection: {exc!r}", permanent=False)
    if isinstance(exc, smtplib.SMTPException):
        return TransportError(f"SMTP: {exc!r}", permanent=False)
    return TransportError(repr(exc), permanent=True)


class MailTransport:
    """Sends ``EmailMessage`` objects over one reused connection; reconnects after a failure."""

    def __init__(self, connection: BaseEmailBackend | None = None) -> None:
        self._connection = connection
        self._open = False

    def _conn(self) -> BaseEmailBackend:
        if self._connection is None:
            self._connection = get_connection(fail_silently=False)
        if not self._open:
            self._connection.open()
            self._open = True
        return self._connection

    def send(self, message: EmailMessage) -> None:
        try:
            connection = self._conn()
            message.connection = connection
            sent = connection.send_messages([message])
        except (smtplib.SMTPException, OSError) as exc:  # anything else (a time limit, a bug) propagates
            self.close()
            raise classify_smtp_error(exc) from exc
        if not sent:
            self.close()
            raise TransportError("the mail backend accepted nothing", permanent=False)

    def close(self) -> None:
        if self._connection is not None and self._open:
            with contextlib.suppress(Exception):  # the connection is being thrown away anyway
                self._connection.close()
        self._open = False

    def __enter__(self) -> MailTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
